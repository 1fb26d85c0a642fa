using Smmu.Core.Domains;

namespace Smmu.Core;

public sealed partial class SmmuInstance
{
    /// <summary>
    /// Attaches a domain to a stream ID (<c>iommu_attach_device</c>).
    /// <para>A base domain's first attach claims a free context bank, takes an ASID, routes the stream
    /// to the bank and points TTBR0/ASID at the domain; attaching it to further streams routes them to
    /// the same bank. A dynamic domain (DYNAMIC = 1 with CONTEXT_BANK set) takes only an ASID on the
    /// bank that a base domain holds for that stream; the bank is not reprogrammed.</para>
    /// Errors: BadHandle; Invalid (stream out of range); Busy (stream already routed, dynamic domain
    /// already attached); NoDevice (dynamic domain without CONTEXT_BANK, or no base domain holds that
    /// bank for the stream); NoSpace (no free context bank or ASID).
    /// </summary>
    public int AttachDevice(DomainHandle domain, uint streamId)
    {
        if (!_domains.TryResolve(domain, out int index))
            return SmmuError.BadHandle;
        if (streamId >= (uint)_streams.Count)
            return SmmuError.Invalid;
        ref Domain d = ref _domains[index];
        return d.IsDynamic ? AttachDynamic(ref d, streamId) : AttachBase(ref d, index, domain, streamId);
    }

    /// <summary>
    /// Detaches a domain from a stream ID (<c>iommu_detach_device</c>).
    /// <para>A dynamic domain's detach invalidates its ASID on the base's bank and frees the ASID; the
    /// bank keeps its programming, except that if the domain was active, TTBR0/ASID/CONTEXTIDR fall
    /// back to the base domain (what the driver does when a process goes away). A base domain's detach
    /// unroutes the stream; its last detach invalidates its ASID, frees it and resets the bank.</para>
    /// Errors: BadHandle; Invalid (stream out of range); NoDevice (not attached through that stream);
    /// Busy (a base domain while dynamic domains are attached on its bank — seed constraint 1).
    /// </summary>
    public int DetachDevice(DomainHandle domain, uint streamId)
    {
        if (!_domains.TryResolve(domain, out int index))
            return SmmuError.BadHandle;
        if (streamId >= (uint)_streams.Count)
            return SmmuError.Invalid;
        ref Domain d = ref _domains[index];
        if (!d.IsAttached)
            return SmmuError.NoDevice;
        return d.IsDynamic ? DetachDynamic(ref d, streamId) : DetachBase(ref d, streamId);
    }

    /// <summary>
    /// Points the domain's context bank at the domain's tables and ASID (the seed's use_domain; on
    /// hardware, a TTBR0 write). With ASID tagging the TLB is untouched; with
    /// <see cref="SmmuConfigFlags.NoAsidTagging"/> the outgoing ASID's entries are invalidated.
    /// Errors: BadHandle; NoDevice (not attached).
    /// </summary>
    public int SwitchDomain(DomainHandle domain)
    {
        if (!_domains.TryResolve(domain, out int index))
            return SmmuError.BadHandle;
        ref Domain d = ref _domains[index];
        if (!d.IsAttached)
            return SmmuError.NoDevice;
        ref ContextBank bank = ref _banks[d.ContextBank];
        if (_flushOnSwitch)
            CountInvalidation(_tlb.InvalidateAsid(bank.Asid));
        PointBankAt(ref bank, ref d, index, domain);
        _stats.Switches++;
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
            _banks[d.ContextBank].StreamCount++;
            d.StreamCount++;
            return SmmuError.Ok;
        }
        int free = Array.FindIndex(_banks, static b => !b.InUse);
        if (free < 0 || !_asids.TryAllocate(out ushort asid))
            return SmmuError.NoSpace;
        ref ContextBank bank = ref _banks[free];
        bank = new ContextBank { InUse = true, BaseIndex = index, BaseDomain = domain, StreamCount = 1 };
        d.ContextBank = free;
        d.Asid = asid;
        d.StreamCount = 1;
        PointBankAt(ref bank, ref d, index, domain);
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
        d.StreamCount = 1;
        d.DynamicStreamId = streamId;
        _banks[cb].DynamicCount++;
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
            PointBankAt(ref bank, ref baseDomain, bank.BaseIndex, bank.BaseDomain);
        }
        ReleaseAsid(ref d);
        bank.DynamicCount--;
        d.StreamCount = 0;
        return SmmuError.Ok;
    }

    private int DetachBase(ref Domain d, uint streamId)
    {
        if (_streams.ContextBankOf(streamId) != d.ContextBank)
            return SmmuError.NoDevice;
        ref ContextBank bank = ref _banks[d.ContextBank];
        if (bank.DynamicCount > 0)
            return SmmuError.Busy;   // seed constraint 1: dynamic detach needs the bank intact
        _streams.Unroute(streamId);
        bank.StreamCount--;
        if (--d.StreamCount > 0)
            return SmmuError.Ok;
        ReleaseAsid(ref d);
        bank = default;   // the base domain owns the bank: its last detach resets it
        return SmmuError.Ok;
    }

    private static void PointBankAt(ref ContextBank bank, ref Domain d, int index, DomainHandle domain)
    {
        bank.ActiveIndex = index;
        bank.ActiveDomain = domain;
        bank.Ttbr0 = d.Root;
        bank.Asid = d.Asid;
        bank.ContextIdr = d.ProcId;
    }

    /// <summary>Invalidates the domain's ASID in the TLB before freeing it, so its next owner never hits stale entries.</summary>
    private void ReleaseAsid(ref Domain d)
    {
        CountInvalidation(_tlb.InvalidateAsid(d.Asid));
        _asids.Free(d.Asid);
        d.Asid = 0;
        d.ContextBank = -1;
    }

    private void CountInvalidation(int entriesRemoved)
    {
        _stats.TlbInvalidations++;
        _stats.TlbEntriesInvalidated += (ulong)entriesRemoved;
    }
}
