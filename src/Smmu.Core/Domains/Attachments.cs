using Smmu.Core.Translation;

namespace Smmu.Core.Domains;

/// <summary>
/// Who is attached where: the rules of attach, detach and switch for base and dynamic domains (the
/// seed's constraints), programming context banks, stream routes and ASIDs. Everything here runs
/// after the facade resolved the handle and checked the stream ID.
/// </summary>
internal sealed class Attachments
{
    private readonly DomainTable _domains;
    private readonly AsidAllocator _asids;
    private readonly StreamTable _streams;
    private readonly ContextBank[] _banks;
    private readonly Translator _translator;
    private readonly bool _flushOnSwitch;

    public Attachments(DomainTable domains, AsidAllocator asids, Translator translator, bool flushOnSwitch)
    {
        _domains = domains;
        _asids = asids;
        _translator = translator;
        _streams = translator.Streams;
        _banks = translator.Banks;
        _flushOnSwitch = flushOnSwitch;
    }

    /// <summary>
    /// A base domain's first attach claims a free context bank, takes an ASID, routes the stream to the
    /// bank and points TTBR0/ASID at the domain; attaching it to further streams routes them to the same
    /// bank. A dynamic domain (DYNAMIC = 1 with CONTEXT_BANK set) takes only an ASID on the bank that a
    /// base domain holds for that stream; the bank is not reprogrammed. Errors: Busy (stream already
    /// routed, dynamic domain already attached); NoDevice (dynamic domain without CONTEXT_BANK, or no base
    /// domain holds that bank for the stream); NoSpace (no free context bank or ASID).
    /// </summary>
    public int Attach(int index, DomainHandle domain, uint streamId)
    {
        ref Domain d = ref _domains[index];
        return d.IsDynamic ? AttachDynamic(ref d, streamId) : AttachBase(ref d, index, domain, streamId);
    }

    /// <summary>
    /// A dynamic domain's detach invalidates its ASID on the base's bank and frees the ASID; the bank keeps
    /// its programming, except that if the domain was active, TTBR0/ASID/CONTEXTIDR fall back to the base
    /// domain (what the driver does when a process goes away). A base domain's detach unroutes the stream;
    /// its last detach invalidates its ASID, frees it and resets the bank. Errors: NoDevice (not attached
    /// through that stream); Busy (a base domain while dynamic domains are attached — seed constraint 1).
    /// </summary>
    public int Detach(int index, uint streamId)
    {
        ref Domain d = ref _domains[index];
        if (!d.IsAttached)
            return SmmuError.NoDevice;
        return d.IsDynamic ? DetachDynamic(ref d, streamId) : DetachBase(ref d, streamId);
    }

    /// <summary>
    /// Points the domain's context bank at the domain's tables and ASID. With ASID tagging the TLB is
    /// untouched; without, the outgoing ASID's entries are invalidated. Errors: NoDevice (not attached).
    /// </summary>
    public int Switch(int index, DomainHandle domain)
    {
        ref Domain d = ref _domains[index];
        if (!d.IsAttached)
            return SmmuError.NoDevice;
        ref ContextBank bank = ref _banks[d.ContextBank];
        if (_flushOnSwitch)
            _translator.InvalidateAsid(bank.Asid);
        bank.PointAt(index, domain, d.Root, d.Asid, d.ProcId);
        _translator.Stats.Switches++;
        return SmmuError.Ok;
    }

    private int AttachBase(ref Domain d, int index, DomainHandle domain, uint streamId)
    {
        if (_streams.ContextBankOf(streamId) >= 0)
            return SmmuError.Busy;
        if (d.IsAttached)
        {
            // A base domain on a further stream shares its bank: one bank per base domain.
            _streams.Route(streamId, d.ContextBank);
            _banks[d.ContextBank].RoutedStreams++;
            d.BaseStreams++;
            return SmmuError.Ok;
        }
        int free = Array.FindIndex(_banks, static b => !b.InUse);
        if (free < 0 || !_asids.TryAllocate(out ushort asid))
            return SmmuError.NoSpace;
        ref ContextBank bank = ref _banks[free];
        bank = new ContextBank { InUse = true, BaseIndex = index, BaseDomain = domain, RoutedStreams = 1 };
        d.ContextBank = free;
        d.Asid = asid;
        d.BaseStreams = 1;
        bank.PointAt(index, domain, d.Root, d.Asid, d.ProcId);
        _streams.Route(streamId, free);
        return SmmuError.Ok;
    }

    private int AttachDynamic(ref Domain d, uint streamId)
    {
        if (d.IsAttached)
            return SmmuError.Busy;
        int cb = d.RequestedContextBank;
        if (cb < 0 || !_banks[cb].InUse || _streams.ContextBankOf(streamId) != cb)
            return SmmuError.NoDevice;
        if (!_asids.TryAllocate(out ushort asid))
            return SmmuError.NoSpace;
        d.ContextBank = cb;
        d.Asid = asid;
        d.DynamicStreamId = streamId;
        _banks[cb].DynamicDomains++;
        return SmmuError.Ok;
    }

    private int DetachDynamic(ref Domain d, uint streamId)
    {
        if (d.DynamicStreamId != streamId)
            return SmmuError.NoDevice;
        ref ContextBank bank = ref _banks[d.ContextBank];
        if (bank.Asid == d.Asid)
        {
            // Still active: fall back to the base domain rather than leave TTBR0 at tables that
            // domain_free may release. The rest of the bank's programming stays.
            ref Domain baseDomain = ref _domains[bank.BaseIndex];
            bank.PointAt(bank.BaseIndex, bank.BaseDomain, baseDomain.Root, baseDomain.Asid, baseDomain.ProcId);
        }
        ReleaseAsid(ref d);
        bank.DynamicDomains--;
        return SmmuError.Ok;
    }

    private int DetachBase(ref Domain d, uint streamId)
    {
        if (_streams.ContextBankOf(streamId) != d.ContextBank)
            return SmmuError.NoDevice;
        ref ContextBank bank = ref _banks[d.ContextBank];
        if (bank.DynamicDomains > 0)
            return SmmuError.Busy;   // seed constraint 1: dynamic detach needs the bank intact
        _streams.Unroute(streamId);
        bank.RoutedStreams--;
        if (--d.BaseStreams > 0)
            return SmmuError.Ok;
        ReleaseAsid(ref d);
        bank = default;   // the base domain owns the bank: its last detach resets it
        return SmmuError.Ok;
    }

    /// <summary>Invalidates the domain's ASID in the TLB before freeing it, so its next owner never hits stale entries.</summary>
    private void ReleaseAsid(ref Domain d)
    {
        _translator.InvalidateAsid(d.Asid);
        _asids.Free(d.Asid);
        d.Asid = 0;
        d.ContextBank = -1;
    }
}
