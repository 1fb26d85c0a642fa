using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Smmu.Core.Translation;

namespace Smmu.Core.PageTables;

/// <summary>
/// VMSAv8-64 long descriptors, laid out as Linux io-pgtable-arm writes them; this file holds what both
/// stages share and the stage-1 attributes (<see cref="Stage2Pte"/> has stage 2's).
/// <code>
/// stage 1: [54] UXN | [53] PXN | [47:g] output address, or next-level table | [11] nG | [10] AF
///          [9:8] SH | [7] AP[2] read-only | [6] AP[1] unprivileged | [4:2] AttrIndx | [1:0] type
/// type: 0b11 table (levels 0-2) or page (level 3); 0b01 block (a leaf level above 3); bit 0 clear: invalid
/// g: the granule's bits (12, 14, 16) for a table address; a leaf's output is aligned to its size
/// </code>
/// </summary>
internal static class Pte
{
    public const ulong Valid = 1UL << 0;
    public const ulong TypeMask = 0b11;
    public const ulong TypeBlock = 0b01;
    public const ulong TypeTable = 0b11;
    public const ulong TypePage = 0b11;

    public const int AttrIndexShift = 2;
    public const ulong AttrIndexMask = 0b111UL << AttrIndexShift;
    /// <summary>MAIR slots as Linux programs them: 0 non-cacheable, 1 write-back cacheable, 2 device.</summary>
    public const ulong MairIndexNonCacheable = 0;
    public const ulong MairIndexCache = 1;
    public const ulong MairIndexDevice = 2;

    /// <summary>AP[1]: accessible unprivileged (EL0).</summary>
    public const ulong ApUnprivileged = 1UL << 6;
    /// <summary>AP[2]: read-only.</summary>
    public const ulong ApReadOnly = 1UL << 7;
    public const int ShareabilityShift = 8;
    public const ulong ShareabilityMask = 0b11UL << ShareabilityShift;
    public const ulong OuterShareable = 0b10UL << ShareabilityShift;
    public const ulong InnerShareable = 0b11UL << ShareabilityShift;
    /// <summary>AF: without it an access takes an access-flag fault (no hardware AF update).</summary>
    public const ulong AccessFlag = 1UL << 10;
    /// <summary>nG: the translation is ASID-specific; clear, it is global (matches every ASID).</summary>
    public const ulong NotGlobal = 1UL << 11;
    public const ulong Pxn = 1UL << 53;
    public const ulong Uxn = 1UL << 54;
    /// <summary>io-pgtable-arm's ARM_LPAE_PTE_XN sets both bits 54 and 53 for IOMMU_NOEXEC (stage 1: UXN and PXN).</summary>
    public const ulong ExecuteNever = Uxn | Pxn;
    /// <summary>Bits [47:12]: output address or next-level table address (no 52-bit LPA).</summary>
    public const ulong AddressMask = 0x0000_FFFF_FFFF_F000;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsValid(ulong pte) => (pte & Valid) != 0;

    /// <summary>A valid table descriptor (only meaningful at levels 0-2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsTable(ulong pte, int level) => level < Geometry.LastLevel && (pte & TypeMask) == TypeTable;

    /// <summary>
    /// A valid block or page at <paramref name="level"/>: the walk ends here. A block (0b01) counts only at a
    /// leaf level of the format (<paramref name="firstBlockLevel"/>..2); elsewhere 0b01 is reserved and
    /// faults as invalid (a block at level 0, at level 1 with 16K/64K, or 0b01 at level 3).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsLeaf(ulong pte, int level, int firstBlockLevel) =>
        level == Geometry.LastLevel ? (pte & TypeMask) == TypePage : (pte & TypeMask) == TypeBlock && level >= firstBlockLevel;

    /// <summary>The next-level table a table descriptor points at (its granule's alignment: [47:g]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong TableAddress(ulong pte, int pageShift) => pte & TableAddressMask(pageShift);

    /// <summary>The bits of a table descriptor that hold the next table's address (<see cref="TableAddress"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong TableAddressMask(int pageShift) => AddressMask & ~((1UL << pageShift) - 1);

    /// <summary>The output address of a leaf covering 2^<paramref name="leafShift"/> bytes, aligned to its size.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong OutputAddress(ulong pte, int leafShift) => pte & AddressMask & ~((1UL << leafShift) - 1);

    /// <summary>A table descriptor for the table at <paramref name="tablePa"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Table(ulong tablePa) => tablePa | TypeTable;

    /// <summary>A page (level 3) or block (a leaf level above 3) descriptor.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Leaf(ulong pa, ulong attributes, int level) =>
        pa | attributes | (level == Geometry.LastLevel ? TypePage : TypeBlock);

    /// <summary>The attribute bits of a leaf: everything but the type and the output address.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong LeafAttributes(ulong pte) => pte & ~(AddressMask | TypeMask);

    /// <summary>io-pgtable-arm's arm_lpae_prot_to_pte for the stage-1 format, plus nG cleared for <see cref="SmmuProt.Global"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong AttributesFor(SmmuProt prot) => s_attributes[(int)(prot & SmmuProt.All)];

    // Every prot's attributes, worked out once: a map looks them up instead of testing seven bits.
    private static readonly ulong[] s_attributes = AllAttributes();

    private static ulong[] AllAttributes()
    {
        var table = new ulong[(int)SmmuProt.All + 1];
        for (int prot = 0; prot < table.Length; prot++)
            table[prot] = ComputeAttributes((SmmuProt)prot);
        return table;
    }

    private static ulong ComputeAttributes(SmmuProt prot)
    {
        ulong pte = AccessFlag;
        if ((prot & SmmuProt.Global) == 0)
            pte |= NotGlobal;
        if ((prot & SmmuProt.Write) == 0)
            pte |= ApReadOnly;
        if ((prot & SmmuProt.Priv) == 0)
            pte |= ApUnprivileged;
        if ((prot & SmmuProt.Mmio) != 0)
            pte |= MairIndexDevice << AttrIndexShift;
        else if ((prot & SmmuProt.Cache) != 0)
            pte |= MairIndexCache << AttrIndexShift;
        pte |= (prot & SmmuProt.Cache) != 0 ? InnerShareable : OuterShareable;
        if ((prot & SmmuProt.NoExec) != 0)
            pte |= ExecuteNever;
        return pte;
    }

    /// <summary>True for a stage-1 leaf whose nG bit is clear: its TLB entry matches every ASID.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsGlobal(ulong pte) => (pte & NotGlobal) == 0;

    /// <summary>
    /// What a stage-1 leaf grants (VMSAv8-64): AP[2:1] for data, UXN/PXN for instruction fetches, and
    /// the architectural rule that memory writable unprivileged is never privileged-executable. A table
    /// lookup on those four bits: it is on every TLB fill.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static AccessRights Rights(ulong pte)
    {
        // Index: AP[1] (unprivileged), AP[2] (read-only), PXN, UXN. Each byte written out from the rule:
        // PrivRead always; PrivWrite unless read-only; PrivExec unless PXN or writable unprivileged;
        // UserRead (and UserWrite unless read-only) with AP[1]; UserExec unless UXN.
        ReadOnlySpan<byte> rightsByBits = [39, 59, 37, 45, 35, 59, 33, 41, 7, 27, 5, 13, 3, 27, 1, 9];
        int index = (int)((pte >> 6) & 0b11 | (pte >> (53 - 2)) & 0b1100);
        return (AccessRights)Unsafe.Add(ref MemoryMarshal.GetReference(rightsByBits), index);
    }
}
