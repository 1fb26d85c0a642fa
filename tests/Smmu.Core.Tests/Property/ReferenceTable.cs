namespace Smmu.Core.Tests.Property;

/// <summary>
/// One address space of the reference, page by page: page → (output address, prot, level of the leaf that
/// maps it). Trivially correct by construction — a dictionary — plus two facts the architecture and
/// <c>docs/design.md</c> fix, kept as plainly as possible:
/// <list type="bullet">
/// <item>which leaf maps a page: map takes the largest leaf that alignment and size allow; unmap splits a
/// block it cuts into the next level's leaves, recursively, so a page that survives ends up in the largest
/// aligned leaf that no longer touches the unmapped range (a permission fault reports that leaf's level);</item>
/// <item>where a walk of an unmapped page stops: tables exist exactly where something is mapped (emptied
/// tables go back to the pool), so the walk stops at the first level whose descriptor covers no mapped page.
/// <see cref="_mappedPerRegion"/> counts mapped pages per level-sized region for that.</item>
/// </list>
/// Keys are the table's input addresses: an IOVA, an IPA, or for a TTBR1 half the offset from the half's
/// base. A TTBR1 half and a stage-2 domain are further instances of this class, composed by
/// <see cref="ReferenceModel"/>; the granule is the <see cref="ReferenceGeometry"/>'s.
/// </summary>
internal sealed class ReferenceTable
{
    /// <summary>How one page is mapped. <see cref="Pa"/> is the page's own output address.</summary>
    public readonly record struct Leaf(ulong Pa, SmmuProt Prot, int Level);

    private readonly Dictionary<ulong, Leaf> _pages = new();   // key: IOVA >> PageShift
    /// <summary>Per level from the start level to the last table level: region (IOVA >> LevelShift) → mapped pages in it.</summary>
    private readonly Dictionary<ulong, long>[] _mappedPerRegion;

    public ReferenceTable(ReferenceGeometry geometry, int startLevel)
    {
        Geometry = geometry;
        StartLevel = startLevel;
        _mappedPerRegion = new Dictionary<ulong, long>[ReferenceGeometry.LeafLevel];
        for (int level = 0; level < _mappedPerRegion.Length; level++)
            _mappedPerRegion[level] = new Dictionary<ulong, long>();
    }

    public ReferenceGeometry Geometry { get; }

    /// <summary>The level of the root table.</summary>
    public int StartLevel { get; }

    /// <summary>Pages mapped with <see cref="SmmuProt.Global"/> (nG = 0): a domain free must invalidate them.</summary>
    public long GlobalPages { get; private set; }

    private ulong PageNumber(ulong iova) => iova >> Geometry.PageShift;

    /// <summary>How <paramref name="iova"/> is mapped, with <see cref="Leaf.Pa"/> the output of that very byte.</summary>
    public bool TryGet(ulong iova, out Leaf leaf)
    {
        if (!_pages.TryGetValue(PageNumber(iova), out leaf))
            return false;
        leaf = leaf with { Pa = leaf.Pa + (iova & (Geometry.PageSize - 1)) };
        return true;
    }

    /// <summary>Whether any page of [<paramref name="iova"/>, + <paramref name="size"/>) is mapped.</summary>
    public bool AnyMapped(ulong iova, ulong size)
    {
        for (ulong offset = 0; offset < size; offset += Geometry.PageSize)
        {
            // Skip whole empty regions at the last table level: a 1 GiB map would otherwise look at 2^18 pages.
            ulong va = iova + offset;
            int tableLevel = ReferenceGeometry.LeafLevel - 1;
            ulong regionSize = Geometry.LevelSize(tableLevel);
            if ((va & (regionSize - 1)) == 0 && size - offset >= regionSize && MappedIn(tableLevel, va) == 0)
            {
                offset += regionSize - Geometry.PageSize;
                continue;
            }
            if (_pages.ContainsKey(PageNumber(va)))
                return true;
        }
        return false;
    }

    /// <summary>Maps every page of the range (which must be free); returns how many leaves of each level that took.</summary>
    public int[] Add(ulong iova, ulong pa, ulong size, SmmuProt prot)
    {
        var leaves = new int[ReferenceGeometry.LeafLevel + 1];
        for (ulong offset = 0; offset < size;)
        {
            int level = Geometry.LargestLeaf(iova + offset, pa + offset, size - offset, StartLevel);
            ulong leafSize = Geometry.LevelSize(level);
            for (ulong page = 0; page < leafSize; page += Geometry.PageSize)
                _pages.Add(PageNumber(iova + offset + page), new Leaf(pa + offset + page, prot, level));
            leaves[level]++;
            if ((prot & SmmuProt.Global) != 0)
                GlobalPages += (long)(leafSize >> Geometry.PageShift);
            offset += leafSize;
        }
        CountRegions(iova, size, +1);
        return leaves;
    }

    /// <summary>
    /// Unmaps every mapped page of the range and returns the bytes removed; <paramref name="splits"/> is how
    /// many blocks the range cut into (their surviving pages move to smaller leaves), <paramref name="removedGlobal"/>
    /// whether a removed page was global (its TLB entries match every ASID).
    /// </summary>
    public ulong Remove(ulong iova, ulong size, out int splits, out bool removedGlobal)
    {
        removedGlobal = false;
        ulong end = iova + size;
        // Only a block that holds a page just outside either end can be cut by the range.
        var outside = new List<ulong>(2) { end };
        if (iova != 0)
            outside.Add(iova - Geometry.PageSize);
        var cut = new List<(ulong Start, int Level)>();
        foreach (ulong neighbour in outside)
        {
            if (!_pages.TryGetValue(PageNumber(neighbour), out Leaf leaf) || leaf.Level == ReferenceGeometry.LeafLevel)
                continue;
            ulong blockSize = Geometry.LevelSize(leaf.Level);
            ulong start = neighbour & ~(blockSize - 1);
            if (start < end && iova < start + blockSize && !cut.Contains((start, leaf.Level)))
                cut.Add((start, leaf.Level));
        }

        ulong removed = 0;
        ulong runStart = 0, runBytes = 0;   // the current run of removed pages, counted out of the regions in one go
        for (ulong offset = 0; offset < size; offset += Geometry.PageSize)
        {
            ulong va = iova + offset;
            if (!_pages.Remove(PageNumber(va), out Leaf gone))
                continue;
            removed += Geometry.PageSize;
            if ((gone.Prot & SmmuProt.Global) != 0)
            {
                removedGlobal = true;
                GlobalPages--;
            }
            if (runBytes != 0 && runStart + runBytes != va)
            {
                CountRegions(runStart, runBytes, -1);
                runBytes = 0;
            }
            if (runBytes == 0)
                runStart = va;
            runBytes += Geometry.PageSize;
        }
        if (runBytes != 0)
            CountRegions(runStart, runBytes, -1);

        foreach (var (start, level) in cut)
        {
            ulong blockSize = Geometry.LevelSize(level);
            for (ulong page = start; page - start < blockSize; page += Geometry.PageSize)
            {
                if (_pages.TryGetValue(PageNumber(page), out Leaf leaf))
                    _pages[PageNumber(page)] = leaf with { Level = SurvivingLevel(page, level, iova, end) };
            }
        }
        splits = cut.Count;
        return removed;
    }

    /// <summary>The level of the largest aligned leaf around <paramref name="page"/> that lies clear of [start, end), below <paramref name="blockLevel"/>.</summary>
    private int SurvivingLevel(ulong page, int blockLevel, ulong start, ulong end)
    {
        for (int level = blockLevel + 1; level < ReferenceGeometry.LeafLevel; level++)
        {
            ulong size = Geometry.LevelSize(level);
            ulong leafStart = page & ~(size - 1);
            if (leafStart + size <= start || leafStart >= end)
                return level;
        }
        return ReferenceGeometry.LeafLevel;
    }

    /// <summary>The level at which a walk for the unmapped <paramref name="iova"/> finds an invalid descriptor.</summary>
    public int TranslationFaultLevel(ulong iova)
    {
        for (int level = StartLevel; level < ReferenceGeometry.LeafLevel; level++)
        {
            if (MappedIn(level, iova) == 0)
                return level;
        }
        return ReferenceGeometry.LeafLevel;
    }

    /// <summary>Forgets everything (the domain was freed).</summary>
    public void Clear()
    {
        _pages.Clear();
        foreach (var regions in _mappedPerRegion)
            regions.Clear();
        GlobalPages = 0;
    }

    /// <summary>Every mapped page whose page number is a multiple of <paramref name="stride"/>, with its leaf.</summary>
    public IEnumerable<(ulong Iova, Leaf Leaf)> Sample(ulong stride)
    {
        foreach (var (page, leaf) in _pages)
        {
            if (page % stride == 0)
                yield return (page << Geometry.PageShift, leaf);
        }
    }

    private long MappedIn(int level, ulong iova) => _mappedPerRegion[level].GetValueOrDefault(iova >> Geometry.LevelShift(level));

    /// <summary>Adds <paramref name="sign"/> × the range's pages to the count of every region it overlaps, at each table level.</summary>
    private void CountRegions(ulong iova, ulong size, int sign)
    {
        for (int level = StartLevel; level < ReferenceGeometry.LeafLevel; level++)
        {
            int shift = Geometry.LevelShift(level);
            ulong regionSize = 1UL << shift;
            for (ulong va = iova; va < iova + size;)
            {
                ulong regionEnd = Math.Min((va & ~(regionSize - 1)) + regionSize, iova + size);
                long pages = (long)((regionEnd - va) >> Geometry.PageShift);
                ulong region = va >> shift;
                long count = _mappedPerRegion[level].GetValueOrDefault(region) + sign * pages;
                if (count == 0)
                    _mappedPerRegion[level].Remove(region);
                else
                    _mappedPerRegion[level][region] = count;
                va = regionEnd;
            }
        }
    }
}
