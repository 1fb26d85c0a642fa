using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Smmu.Core.PageTables;

/// <summary>
/// The shape of one translation table tree, as io-pgtable-arm derives it (<c>arm_lpae_alloc_pgtable</c>):
/// the stage, the granule (4, 16 or 64 KiB; <see cref="LevelBits"/> = granule bits − 3), the level a walk
/// starts at and how many index bits the root resolves, the levels that may hold blocks, and the input
/// and output sizes. Made only by <see cref="TryStage1"/> and <see cref="TryStage2"/>; carried by everything
/// that builds or walks tables (the mapper, the walk context), so nothing derives it twice.
/// <code>
/// va_bits = ias - page_shift;  levels = ceil(va_bits / level_bits);  start = 4 - levels
/// root_bits = va_bits - level_bits * (levels - 1)      (a smaller root; stage 2 may concatenate)
/// leaf levels (no LPA/LPA2): 4K → 1 (1G), 2 (2M), 3 (4K); 16K → 2 (32M), 3 (16K); 64K → 2 (512M), 3 (64K)
/// </code>
/// </summary>
internal readonly struct TableFormat
{
    /// <summary>1 or 2.</summary>
    public readonly int Stage;
    /// <summary>log2 of the granule: 12, 14 or 16.</summary>
    public readonly int PageShift;
    /// <summary>Input bits one table resolves: PageShift − 3.</summary>
    public readonly int LevelBits;
    /// <summary>The level of the root table.</summary>
    public readonly int StartLevel;
    /// <summary>Input bits the root resolves (with stage-2 concatenation, more than <see cref="LevelBits"/>).</summary>
    public readonly int RootIndexBits;
    /// <summary>The first level that may hold a block (4K: 1; 16K and 64K: 2).</summary>
    public readonly int FirstBlockLevel;
    /// <summary>ias: input addresses are below 2^InputBits (a TTBR1 half: its low InputBits bits).</summary>
    public readonly int InputBits;
    /// <summary>oas: every table and output address is below 2^OutputBits.</summary>
    public readonly int OutputBits;

    private TableFormat(int stage, int pageShift, int startLevel, int rootIndexBits, int inputBits, int outputBits)
    {
        Stage = stage;
        PageShift = pageShift;
        LevelBits = pageShift - 3;
        StartLevel = startLevel;
        RootIndexBits = rootIndexBits;
        FirstBlockLevel = pageShift == Geometry.Granule4K ? 1 : 2;
        InputBits = inputBits;
        OutputBits = outputBits;
    }

    /// <summary>2^ias.</summary>
    public ulong InputLimit => 1UL << InputBits;
    /// <summary>2^oas.</summary>
    public ulong OutputLimit => 1UL << OutputBits;
    /// <summary>Bytes of the granule: every non-root table is one granule.</summary>
    public ulong GranuleSize => 1UL << PageShift;
    /// <summary>Concatenated root tables (stage 2 only; 1 otherwise).</summary>
    public int ConcatenatedRoots => RootIndexBits > LevelBits ? 1 << (RootIndexBits - LevelBits) : 1;
    /// <summary>log2 of a table's size in pool frames (the root: all its concatenated tables, at least a granule).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int TableOrder(int level) =>
        PageShift - Geometry.FrameShift + (level == StartLevel && RootIndexBits > LevelBits ? RootIndexBits - LevelBits : 0);

    /// <summary>
    /// Stage 1 (ARM_64_LPAE_S1) for a granule of 2^<paramref name="pageShift"/> bytes, ias and oas bits;
    /// false when the combination has no valid table (it always has one for 32..48 bits).
    /// </summary>
    public static bool TryStage1(int pageShift, int ias, int oas, out TableFormat format)
    {
        int vaBits = ias - pageShift, levelBits = pageShift - 3;
        int levels = (vaBits + levelBits - 1) / levelBits;
        format = new TableFormat(1, pageShift, Geometry.LastLevel + 1 - levels, vaBits - levelBits * (levels - 1), ias, oas);
        return levels is >= 1 and <= 4;
    }

    /// <summary>Stage 1 with the 4 KiB granule: the format the model started with.</summary>
    public static TableFormat Stage1(int ias, int oas)
    {
        bool ok = TryStage1(Geometry.Granule4K, ias, oas, out TableFormat format);
        Debug.Assert(ok);
        return format;
    }

    /// <summary>
    /// Stage 2 (ARM_64_LPAE_S2) for a granule, IPA size <paramref name="ias"/> and PA size <paramref name="oas"/>.
    /// The root is concatenated exactly where the architecture requires it, as Linux v6.14+ decides with
    /// <c>arm_lpae_concat_mandatory</c> (Arm DDI0487 K.a): R_DXBSH — 16K with a 48-bit input starts at level 1,
    /// not 0; R_SRKBC — 4K with a 40- or 42-bit PA starts at level 1 instead of 0 (2 or 8 tables for
    /// ias = oas), 16K with a 40-bit PA at level 2 instead of 1 (16 tables), 16K with a 48-bit PA at level 1
    /// instead of 0 (2 tables). Where concatenation is only allowed, not required, it is not done (as
    /// Linux). False when the concatenation would need more than 16 tables (Linux refuses those too).
    /// </summary>
    public static bool TryStage2(int pageShift, int ias, int oas, out TableFormat format)
    {
        TryStage1(pageShift, ias, oas, out TableFormat plain);
        int start = plain.StartLevel, rootBits = plain.RootIndexBits;
        bool concatenate = pageShift switch
        {
            Geometry.Granule16K when start == 0 => oas == 48 || ias == 48,
            Geometry.Granule4K when start == 0 => oas is 40 or 42,
            Geometry.Granule16K => start == 1 && oas == 40,
            _ => false,
        };
        if (concatenate)
        {
            rootBits += plain.LevelBits;
            start++;
        }
        format = new TableFormat(2, pageShift, start, rootBits, ias, oas);
        return format.ConcatenatedRoots <= 16;
    }

    /// <summary>Shift of the input bits that index a table at <paramref name="level"/> (4K: 39, 30, 21, 12).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int LevelShift(int level) => PageShift + LevelBits * (Geometry.LastLevel - level);

    /// <summary>Bytes one descriptor at <paramref name="level"/> covers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong LevelSize(int level) => 1UL << LevelShift(level);

    /// <summary>Descriptors in a table at <paramref name="level"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int EntriesAt(int level) => 1 << (level == StartLevel ? RootIndexBits : LevelBits);

    /// <summary>The index of <paramref name="va"/> in a table at <paramref name="level"/>; bits above the table's reach are ignored (a TTBR1 half's sign extension included).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int IndexOf(ulong va, int level) => (int)(va >> LevelShift(level)) & (EntriesAt(level) - 1);

    /// <summary>True when a leaf (block or page) may sit at <paramref name="level"/>.</summary>
    public bool IsLeafLevel(int level) => level >= FirstBlockLevel;

    /// <summary>
    /// The level whose leaves are <paramref name="pageSize"/> bytes, if this format has leaves that size
    /// (Linux's pgsize_bitmap: 4K: 4K, 2M, 1G; 16K: 16K, 32M; 64K: 64K, 512M — and, for a stage-2 table
    /// whose start level allows it, nothing larger than the start level's blocks).
    /// </summary>
    public bool TryLevelOfPageSize(ulong pageSize, out int level)
    {
        for (level = Math.Max(FirstBlockLevel, StartLevel); level <= Geometry.LastLevel; level++)
        {
            if (LevelSize(level) == pageSize)
                return true;
        }
        level = 0;
        return false;
    }

    /// <summary>The largest leaf level that alignment and the remaining size allow for mapping <paramref name="va"/> → <paramref name="pa"/>.</summary>
    public int LeafLevel(ulong va, ulong pa, ulong remaining)
    {
        for (int level = Math.Max(FirstBlockLevel, StartLevel); level < Geometry.LastLevel; level++)
        {
            ulong size = LevelSize(level);
            if (((va | pa) & (size - 1)) == 0 && remaining >= size)
                return level;
        }
        return Geometry.LastLevel;
    }
}
