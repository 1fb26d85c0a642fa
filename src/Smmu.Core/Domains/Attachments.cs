using Smmu.Core.Translation;

namespace Smmu.Core.Domains;

/// <summary>
/// Who is attached where: the rules of attach, detach and switch (the seed's constraints, split TTBR0/TTBR1
/// banks, stage 2 and nesting), programming context banks, stream routes, ASIDs and VMIDs. Everything
/// here runs after the facade resolved the handle and checked the stream ID.
/// <list type="bullet">
/// <item>A stage-1 base domain claims a bank and an ASID. Split (SPLIT_TTBR1), its tables become TTBR1
/// and TTBR0 stays disabled (EPD0) until a dynamic domain is switched in. With a NEST_PARENT, the bank is
/// nested: VTTBR is the stage-2 domain's root, with its VMID.</item>
/// <item>A stage-2 domain attached on its own claims a bank that translates IPA → PA; it has no ASID.</item>
/// <item>A dynamic domain takes an ASID on its base's bank; it must use the bank's granule and, if it
/// names a NEST_PARENT, the bank's.</item>
/// <item>A stage-2 domain's VMID lives while some bank translates through it; when the last one lets go,
/// the VMID's entries are invalidated before it is freed.</item>
/// </list>
/// </summary>
internal sealed class Attachments
{
    private readonly DomainTable _domains;
    private readonly IdAllocator _asids;
    private readonly IdAllocator _vmids;
    private readonly StreamTable _streams;
    private readonly ContextBank[] _banks;
    private readonly Translator _translator;
    private readonly bool _flushOnSwitch;

    public Attachments(DomainTable domains, IdAllocator asids, IdAllocator vmids, Translator translator, bool flushOnSwitch)
    {
        _domains = domains;
        _asids = asids;
        _vmids = vmids;
        _translator = translator;
        _streams = translator.Streams;
        _banks = translator.Banks;
        _flushOnSwitch = flushOnSwitch;
    }

    /// <summary>
    /// Attaches a domain through a stream. Errors: Busy (stream already routed, dynamic domain already
    /// attached); NoDevice (dynamic domain without CONTEXT_BANK, or no base domain holds that bank for the
    /// stream); Invalid (a dynamic domain that does not fit its bank: another granule, another stage-2
    /// parent, or a stage-2-only bank); NoSpace (no free context bank, ASID or VMID).
    /// </summary>
    public int Attach(int index, DomainHandle domain, uint streamId)
    {
        ref Domain d = ref _domains[index];
        return d.IsDynamic ? AttachDynamic(ref d, streamId) : AttachBase(ref d, index, domain, streamId);
    }

    /// <summary>
    /// A dynamic domain's detach invalidates its ASID on the base's bank and frees the ASID; the bank keeps
    /// its programming, except that if the domain was active, TTBR0/ASID/CONTEXTIDR fall back to the base
    /// domain (what the driver does when a process goes away; on a split bank: EPD0 and the base's ASID).
    /// A base domain's detach unroutes the stream; its last detach invalidates its ASID, lets go of its
    /// stage 2, and resets the bank. Errors: NoDevice (not attached through that stream); Busy (a base
    /// domain while dynamic domains are attached — seed constraint 1).
    /// </summary>
    public int Detach(int index, uint streamId)
    {
        ref Domain d = ref _domains[index];
        if (!d.IsAttached)
            return SmmuError.NoDevice;
        return d.IsDynamic ? DetachDynamic(ref d, streamId) : DetachBase(ref d, streamId);
    }

    /// <summary>
    /// Points the domain's context bank at the domain: TTBR0 and ASID (the seed's use_domain). TTBR1 and the
    /// stage-2 registers stay. On a split bank, switching to the base domain disables TTBR0 (EPD0). With ASID
    /// tagging the TLB is untouched; without, the outgoing ASID's entries are invalidated. Errors: NoDevice
    /// (not attached).
    /// </summary>
    public int Switch(int index, DomainHandle domain)
    {
        ref Domain d = ref _domains[index];
        if (!d.IsAttached)
            return SmmuError.NoDevice;
        ref ContextBank bank = ref _banks[d.ContextBank];
        if (_flushOnSwitch && bank.Asid != 0)
            _translator.InvalidateAsid(bank.Asid);
        PointBankAt(d.ContextBank, index, domain, ref d);
        _translator.Stats.Switches++;
        return SmmuError.Ok;
    }

    /// <summary>Frees what a domain that is being freed still holds of others: its claim on a stage-2 parent.</summary>
    public void Forget(ref Domain d)
    {
        if (d.NestParent >= 0)
            _domains[d.NestParent].NestChildren--;
    }

    private int AttachBase(ref Domain d, int index, DomainHandle domain, uint streamId)
    {
        if (_streams.ContextBankOf(streamId) >= 0)
            return SmmuError.Busy;
        if (d.IsAttached)
        {
            // A base domain on a further stream shares its bank: one bank per base domain.
            _streams.Route(streamId, d.ContextBank, _banks[d.ContextBank].Tlb);
            _banks[d.ContextBank].RoutedStreams++;
            d.BaseStreams++;
            return SmmuError.Ok;
        }
        int free = Array.FindIndex(_banks, static b => !b.InUse);
        if (free < 0)
            return SmmuError.NoSpace;
        int stage2 = d.IsStage2 ? index : d.NestParent;   // the stage-2 domain the bank translates through, or -1
        if (stage2 >= 0 && !AcquireStage2(stage2))
            return SmmuError.NoSpace;
        ushort asid = 0;
        if (!d.IsStage2 && !_asids.TryAllocate(out asid))
        {
            if (stage2 >= 0)
                ReleaseStage2(stage2);
            return SmmuError.NoSpace;
        }

        ref ContextBank bank = ref _banks[free];
        bank = new ContextBank { InUse = true, BaseIndex = index, BaseDomain = domain, RoutedStreams = 1, Epd1 = true };
        if (stage2 >= 0)
        {
            ref Domain s2 = ref _domains[stage2];
            bank.Stage2 = s2.Format;
            bank.Vttbr = s2.Root;
            bank.Vmid = s2.Vmid;
        }
        if (d.IsStage2)
        {
            bank.Regime = TranslationRegime.Stage2;
        }
        else
        {
            bank.Regime = stage2 >= 0 ? TranslationRegime.Nested : TranslationRegime.Stage1;
            bank.Stage1 = d.Format;
            if (d.SplitTtbr1)
            {
                bank.Ttbr1 = d.Root;
                bank.Ttbr1Asid = asid;
                bank.Epd1 = false;
            }
        }
        d.ContextBank = free;
        d.Asid = asid;
        d.BaseStreams = 1;
        PointBankAt(free, index, domain, ref d);
        _streams.Route(streamId, free, _banks[free].Tlb);
        return SmmuError.Ok;
    }

    private int AttachDynamic(ref Domain d, uint streamId)
    {
        if (d.IsAttached)
            return SmmuError.Busy;
        int cb = d.RequestedContextBank;
        if (cb < 0 || !_banks[cb].InUse || _streams.ContextBankOf(streamId) != cb)
            return SmmuError.NoDevice;
        ref ContextBank bank = ref _banks[cb];
        if (bank.Regime == TranslationRegime.Stage2 || d.GranuleShift != bank.Stage1.PageShift
            || (d.NestParent >= 0 && d.NestParent != _domains[bank.BaseIndex].NestParent))
            return SmmuError.Invalid;   // the bank's TCR (TG0) and VTTBR are the base's: a process must fit them
        if (!_asids.TryAllocate(out ushort asid))
            return SmmuError.NoSpace;
        d.ContextBank = cb;
        d.Asid = asid;
        d.DynamicStreamId = streamId;
        bank.DynamicDomains++;
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
            PointBankAt(d.ContextBank, bank.BaseIndex, bank.BaseDomain, ref _domains[bank.BaseIndex]);
        }
        ReleaseAsid(ref d);
        bank.DynamicDomains--;
        d.ContextBank = -1;
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
        if (d.Asid != 0)
            ReleaseAsid(ref d);
        int stage2 = d.IsStage2 ? bank.BaseIndex : d.NestParent;
        if (bank.Regime != TranslationRegime.Stage1)
            ReleaseStage2(stage2);
        bank = default;   // the base domain owns the bank: its last detach resets it (no stream is routed to it now)
        d.ContextBank = -1;
        return SmmuError.Ok;
    }

    /// <summary>TTBR0/ASID/CONTEXTIDR := the domain's; on a split bank the base domain has no TTBR0 (EPD0).</summary>
    private void PointBankAt(int bank, int index, DomainHandle domain, ref Domain d)
    {
        bool hasTtbr0 = !(d.SplitTtbr1 || d.IsStage2);
        _banks[bank].PointAt(index, domain, hasTtbr0, d.Root, d.Asid, d.ProcId, _translator.Pool);
        _translator.PublishBank(bank);
    }

    /// <summary>Invalidates the domain's ASID in the TLB before freeing it, so its next owner never hits stale entries (global entries stay: TLBIASID spares them).</summary>
    private void ReleaseAsid(ref Domain d)
    {
        _translator.InvalidateAsid(d.Asid);
        _asids.Free(d.Asid);
        d.Asid = 0;
    }

    /// <summary>One more bank translates through the stage-2 domain at <paramref name="index"/>: its first user gives it a VMID.</summary>
    private bool AcquireStage2(int index)
    {
        ref Domain s2 = ref _domains[index];
        if (s2.Stage2Users == 0)
        {
            if (!_vmids.TryAllocate(out ushort vmid))
                return false;
            s2.Vmid = vmid;
        }
        s2.Stage2Users++;
        return true;
    }

    /// <summary>A bank lets go of the stage-2 domain: after the last, its VMID's entries are invalidated and the VMID freed.</summary>
    private void ReleaseStage2(int index)
    {
        ref Domain s2 = ref _domains[index];
        if (--s2.Stage2Users > 0)
            return;
        _translator.InvalidateVmid(s2.Vmid, stage1Only: false);
        _vmids.Free(s2.Vmid);
        s2.Vmid = 0;
    }
}
