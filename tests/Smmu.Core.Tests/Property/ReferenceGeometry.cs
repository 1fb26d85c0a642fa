namespace Smmu.Core.Tests.Property;

/// <summary>
/// A translation granule as the reference needs it, written from the architecture (VMSAv8-64) rather than
/// taken from the model: page size, bits resolved per level, the levels that may hold a block. Only the
/// 4 KiB granule exists today; 16 KiB and 64 KiB are further instances, and a
/// <see cref="ReferenceTable"/> takes its geometry, so they need no new table code.
/// </summary>
internal sealed record ReferenceGeometry(int PageShift, int LevelBits, int FirstBlockLevel)
{
    /// <summary>4 KiB pages, 9 bits per level: 1 GiB blocks at level 1, 2 MiB at level 2.</summary>
    public static readonly ReferenceGeometry Granule4K = new(12, 9, 1);

    public const int LeafLevel = 3;

    public ulong PageSize => 1UL << PageShift;

    /// <summary>log2 of what one descriptor at <paramref name="level"/> covers.</summary>
    public int LevelShift(int level) => PageShift + LevelBits * (LeafLevel - level);

    public ulong LevelSize(int level) => 1UL << LevelShift(level);

    /// <summary>The walk's first level for a 2^<paramref name="ias"/> input range: as many levels as it takes to resolve ias - page bits.</summary>
    public int StartLevel(int ias) => LeafLevel + 1 - (ias - PageShift + LevelBits - 1) / LevelBits;

    /// <summary>The largest leaf level whose size both addresses are aligned to and <paramref name="remaining"/> covers.</summary>
    public int LargestLeaf(ulong iova, ulong pa, ulong remaining, int startLevel)
    {
        for (int level = Math.Max(FirstBlockLevel, startLevel); level < LeafLevel; level++)
        {
            ulong size = LevelSize(level);
            if (((iova | pa) & (size - 1)) == 0 && remaining >= size)
                return level;
        }
        return LeafLevel;
    }
}
