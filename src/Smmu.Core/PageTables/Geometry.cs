namespace Smmu.Core.PageTables;

/// <summary>
/// VMSAv8-64 translation geometry for the 4 KiB granule. Each constant is derived from the one
/// before it; no other file uses a bare shift or mask for these quantities.
/// </summary>
internal static class Geometry
{
    /// <summary>log2 of the granule: 4 KiB pages and tables.</summary>
    public const int PageShift = 12;
    public const ulong PageSize = 1UL << PageShift;
    public const ulong PageOffsetMask = PageSize - 1;

    /// <summary>Bits of IOVA resolved per level: a table holds PageSize / 8 descriptors.</summary>
    public const int LevelBits = PageShift - 3;
    public const int EntriesPerTable = 1 << LevelBits;
    public const int DescriptorSize = sizeof(ulong);

    /// <summary>Level 3 holds pages; with a 4 KiB granule, blocks exist at levels 1 and 2.</summary>
    public const int LastLevel = 3;
    public const int FirstBlockLevel = 1;

    /// <summary>The widest input and output address size the model supports (no 52-bit LPA).</summary>
    public const int MaxAddressBits = 48;
    public const int MinAddressBits = 32;

    /// <summary>Size classes cached by the TLB: 0 = 4 KiB page, 1 = 2 MiB block, 2 = 1 GiB block.</summary>
    public const int SizeClassCount = LastLevel - FirstBlockLevel + 1;

    /// <summary>Shift of the IOVA bits that index a table at <paramref name="level"/>: 39, 30, 21, 12.</summary>
    public static int LevelShift(int level) => PageShift + LevelBits * (LastLevel - level);

    /// <summary>Bytes covered by one descriptor at <paramref name="level"/>: 512 GiB, 1 GiB, 2 MiB, 4 KiB.</summary>
    public static ulong LevelSize(int level) => 1UL << LevelShift(level);

    /// <summary>The level the walk starts at for an input size: 48..40 bits → 0, 39..31 → 1.</summary>
    public static int StartLevel(int ias) => LastLevel - (ias - PageShift - 1) / LevelBits;

    /// <summary>TLB size class of a leaf at <paramref name="level"/> (3 → 0, 2 → 1, 1 → 2).</summary>
    public static int SizeClassOfLevel(int level) => LastLevel - level;

    /// <summary>Leaf level of a TLB size class.</summary>
    public static int LevelOfSizeClass(int sizeClass) => LastLevel - sizeClass;

    /// <summary>log2 of the bytes a TLB entry of <paramref name="sizeClass"/> covers: 12, 21, 30.</summary>
    public static int SizeClassShift(int sizeClass) => PageShift + LevelBits * sizeClass;

    public static bool IsPageAligned(ulong value) => (value & PageOffsetMask) == 0;

    public static ulong AlignDown(ulong value, ulong size) => value & ~(size - 1);
}
