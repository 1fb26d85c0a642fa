using Smmu.Core.Memory;
using Smmu.Core.PageTables;

namespace Smmu.Core.Translation;

/// <summary>
/// One context bank's registers and ownership: which base domain claimed it; the translation regime —
/// stage 1 (TTBR0/TTBR1 with TCR's EPD0/EPD1, the granule and sizes in <see cref="Stage1"/>), stage 2
/// alone, or nested (VTTBR, VMID); what TTBR0 / ASID / CONTEXTIDR hold (the active domain's); the routed
/// streams and dynamic domains; and the fault registers. A switch changes only what <see cref="PointAt"/>
/// writes: TTBR0 (or EPD0), the ASID and CONTEXTIDR — never TTBR1 or the stage-2 registers. Only the base
/// domain's last detach resets the bank.
/// </summary>
internal struct ContextBank
{
    public bool InUse;
    /// <summary>Domain slot of the base domain that claimed the bank.</summary>
    public int BaseIndex;
    /// <summary>Domain slot of the domain TTBR0 points at (the base domain on a split bank with no process active).</summary>
    public int ActiveIndex;
    public DomainHandle BaseDomain;
    public DomainHandle ActiveDomain;

    public TranslationRegime Regime;
    /// <summary>Stage 1's format: the base domain's granule (TG0 = TG1) and the sizes (T0SZ = T1SZ = 64 − ias).</summary>
    public TableFormat Stage1;
    /// <summary>TTBR0's table address: the active domain's root (meaningless while <see cref="Epd0"/>).</summary>
    public ulong Ttbr0;
    /// <summary>TCR.EPD0: no TTBR0 walks (a split bank with no process active).</summary>
    public bool Epd0;
    /// <summary>TTBR1's table address: a split base domain's root (meaningless while <see cref="Epd1"/>).</summary>
    public ulong Ttbr1;
    /// <summary>The ASID field of TTBR1: the base domain's, as Linux writes it (ignored by the walk: TCR.A1 = 0).</summary>
    public ushort Ttbr1Asid;
    /// <summary>TCR.EPD1: no TTBR1 walks (every bank that is not split).</summary>
    public bool Epd1;
    /// <summary>The ASID in TTBR0 (TCR.A1 = 0: it tags TTBR1's non-global entries too).</summary>
    public ushort Asid;
    public uint ContextIdr;
    /// <summary>Stage 2's format and VTTBR (the stage-2 domain's root), for the Stage2 and Nested regimes.</summary>
    public TableFormat Stage2;
    public ulong Vttbr;
    /// <summary>The VMID (0 for a bank without stage 2).</summary>
    public ushort Vmid;
    /// <summary>The tags this bank's translations carry in the TLB; follows the ASID and VMID.</summary>
    public TlbContext Tlb;
    /// <summary>A walk of this bank's tables, as its registers stand: rebuilt by <see cref="PointAt"/>, the last step of every change to them.</summary>
    public WalkContext Walk;

    /// <summary>Stream IDs routed to the bank.</summary>
    public int RoutedStreams;
    /// <summary>Dynamic domains attached on the bank.</summary>
    public int DynamicDomains;
    public uint Fsr;
    public uint Fsynr0;
    public ulong Far;
    /// <summary>CB_IPAFAR: the IPA of a stage-2 fault.</summary>
    public ulong Ipafar;
    /// <summary>The fault FSR/FAR/FSYNR0 describe, while FSR holds one.</summary>
    public SmmuFault FaultRecord;

    /// <summary>True when TTBR1 holds the base domain's tables and TTBR0 the active process's.</summary>
    public readonly bool IsSplit => InUse && !Epd1;

    /// <summary>
    /// Points TTBR0/ASID/CONTEXTIDR at a domain (attach of a base domain, or a switch); with
    /// <paramref name="hasTtbr0"/> false, TTBR0 walks are disabled (EPD0) and only the ASID is set.
    /// </summary>
    public void PointAt(int domainIndex, DomainHandle domain, bool hasTtbr0, ulong root, ushort asid, uint procId, PagePool pool)
    {
        ActiveIndex = domainIndex;
        ActiveDomain = domain;
        Ttbr0 = hasTtbr0 ? root : 0;
        Epd0 = !hasTtbr0;
        Asid = asid;
        ContextIdr = procId;
        Tlb = new TlbContext(Regime == TranslationRegime.Stage2 ? TlbLayout.NoAsid : asid, Vmid, Regime == TranslationRegime.Stage2);
        Walk = new WalkContext(pool, Regime, Stage1, Ttbr0, Epd0, Ttbr1, Epd1, Stage2, Vttbr);
    }

    /// <summary>Clears FSR/FAR/FSYNR0/IPAFAR and the record (FSR is write-1-to-clear on hardware).</summary>
    public void ClearFault()
    {
        Fsr = 0;
        Far = 0;
        Fsynr0 = 0;
        Ipafar = 0;
        FaultRecord = default;
    }

    /// <summary>TTBRn as the hardware register holds it: table address in [47:0], ASID in [63:48].</summary>
    public static ulong TtbrImage(ulong tablePa, ushort asid) => tablePa | (ulong)asid << 48;

    /// <summary>VTTBR: table address in [47:0], VMID in [63:48].</summary>
    public static ulong VttbrImage(ulong tablePa, ushort vmid) => tablePa | (ulong)vmid << 48;

    /// <summary>The register snapshot of <c>smmu_get_context_bank</c>.</summary>
    public readonly ContextBankState Snapshot() => new()
    {
        Size = ContextBankState.CurrentSize,
        InUse = InUse ? 1u : 0u,
        BaseDomain = BaseDomain,
        ActiveDomain = ActiveDomain,
        Asid = Asid,
        ContextIdr = ContextIdr,
        StreamCount = (uint)RoutedStreams,
        DynamicCount = (uint)DynamicDomains,
        Ttbr0 = InUse && Regime != TranslationRegime.Stage2 ? TtbrImage(Epd0 ? 0 : Ttbr0, Asid) : 0,
        Fsr = Fsr,
        Fsynr0 = Fsynr0,
        Far = Far,
        Ttbr1 = IsSplit ? TtbrImage(Ttbr1, Ttbr1Asid) : 0,
        Vttbr = InUse && Regime != TranslationRegime.Stage1 ? VttbrImage(Vttbr, Vmid) : 0,
        Ipafar = Ipafar,
        Vmid = Vmid,
        Flags = (InUse && Epd0 ? ContextBankState.FlagEpd0 : 0) | (IsSplit ? ContextBankState.FlagSplit : 0)
                | (uint)(InUse ? (int)Regime : 0) << ContextBankState.RegimeShift,
        Granule = InUse && Regime != TranslationRegime.Stage2 ? 1u << Stage1.PageShift : InUse ? 1u << Stage2.PageShift : 0,
    };
}
