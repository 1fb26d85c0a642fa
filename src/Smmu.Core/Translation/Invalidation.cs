namespace Smmu.Core.Translation;

/// <summary>The TLB maintenance operations of the model, after the architecture's TLBI instructions.</summary>
internal enum InvalidationKind : byte
{
    /// <summary>TLBIALL: everything.</summary>
    All,
    /// <summary>TLBIASID: one ASID's non-global entries.</summary>
    Asid,
    /// <summary>TLBIVA: one ASID's stage-1 entries in a range, and the global ones.</summary>
    Va,
    /// <summary>TLBIVAA: every stage-1 entry in a range, any ASID.</summary>
    VaAllAsids,
    /// <summary>TLBIVMALL: every entry of a VMID (or, stage 1 only: its IOVA-translating ones).</summary>
    Vmid,
    /// <summary>TLBIIPAS2: a VMID's stage-2-only entries in an IPA range.</summary>
    Ipa,
}

/// <summary>
/// One TLB maintenance operation as data: what an unmap must invalidate (now, at a sync, or in a flush),
/// and what the sanitizer watches meanwhile. [<see cref="First"/>, <see cref="Last"/>] is inclusive.
/// </summary>
internal readonly record struct Invalidation(InvalidationKind Kind, ulong First = 0, ulong Last = 0, ushort Asid = 0, ushort Vmid = 0,
                                             bool AnyVmid = false, bool Stage1Only = false);
