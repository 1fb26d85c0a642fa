namespace Smmu.Core.Tests.Property;

/// <summary>
/// A translation granule as the reference needs it, written from the architecture (VMSAv8-64, no
/// LPA/LPA2) rather than taken from the model: page size, bits resolved per level, the levels that may
/// hold a block, where a walk starts and how many bits its root resolves. A <see cref="ReferenceTable"/>
/// takes one, so the three granules share all table code.
/// <code>
/// granule  page bits  bits/level  leaves
/// 4K       12         9           1 GiB (level 1), 2 MiB (level 2), 4 KiB
/// 16K      14         11          32 MiB (level 2), 16 KiB          (a level-1 block needs LPA2)
/// 64K      16         13          512 MiB (level 2), 64 KiB         (a level-1 block needs LPA)
/// </code>
/// </summary>
internal sealed record ReferenceGeometry(int PageShift)
{
    public static readonly ReferenceGeometry Granule4K = new(12);
    public static readonly ReferenceGeometry Granule16K = new(14);
    public static readonly ReferenceGeometry Granule64K = new(16);

    public const int LeafLevel = 3;

    /// <summary>The geometry of a granule of 2^<paramref name="pageShift"/> bytes.</summary>
    public static ReferenceGeometry For(int pageShift) => pageShift switch
    {
        12 => Granule4K,
        14 => Granule16K,
        16 => Granule64K,
        _ => throw new ArgumentOutOfRangeException(nameof(pageShift)),
    };

    /// <summary>A table is one granule of 8-byte descriptors.</summary>
    public int LevelBits => PageShift - 3;

    /// <summary>The first level that may hold a block: 1 for 4K; 2 for 16K and 64K (their level-1 blocks need LPA/LPA2).</summary>
    public int FirstBlockLevel => PageShift == 12 ? 1 : 2;

    public ulong PageSize => 1UL << PageShift;

    public uint Bytes => 1u << PageShift;

    public string Name => $"{Bytes >> 10}K";

    /// <summary>log2 of what one descriptor at <paramref name="level"/> covers.</summary>
    public int LevelShift(int level) => PageShift + LevelBits * (LeafLevel - level);

    public ulong LevelSize(int level) => 1UL << LevelShift(level);

    /// <summary>Levels a 2^<paramref name="ias"/> input needs: enough to resolve ias − page bits.</summary>
    private int Levels(int ias) => (ias - PageShift + LevelBits - 1) / LevelBits;

    /// <summary>The walk's first level for a 2^<paramref name="ias"/> input range (stage 1: no concatenation).</summary>
    public int StartLevel(int ias) => LeafLevel + 1 - Levels(ias);

    /// <summary>Input bits the stage-1 root resolves (fewer than <see cref="LevelBits"/> when ias leaves a partial level).</summary>
    public int RootBits(int ias) => ias - PageShift - LevelBits * (Levels(ias) - 1);

    /// <summary>
    /// Stage 2's start level and root bits: as stage 1, except where the architecture makes concatenated
    /// root tables mandatory (Arm DDI0487 R_DXBSH, R_SRKBC; docs/design.md §2): 16K starting at level 0
    /// with a 48-bit IPA or PA, 4K starting at level 0 with a 40- or 42-bit PA, 16K starting at level 1 with
    /// a 40-bit PA — each starts one level lower down with the root resolving one level's bits more.
    /// </summary>
    public (int Start, int RootBits) Stage2Root(int ias, int oas)
    {
        int start = StartLevel(ias), rootBits = RootBits(ias);
        bool concatenate = (PageShift, start) switch
        {
            (14, 0) => ias == 48 || oas == 48,
            (12, 0) => oas is 40 or 42,
            (14, 1) => oas == 40,
            _ => false,
        };
        return concatenate ? (start + 1, rootBits + LevelBits) : (start, rootBits);
    }

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
