using System.Diagnostics;
using System.Runtime.CompilerServices;
using Smmu.Core.Memory;

namespace Smmu.Core.PageTables;

/// <summary>
/// Builds and tears down translation tables of any <see cref="TableFormat"/> in the <see cref="PagePool"/>
/// (io-pgtable-arm's map / unmap / free). A tree translates [inputBase, inputBase + 2^ias): inputBase is 0,
/// or 2^64 − 2^ias for a TTBR1 half, whose tables index only the low ias bits of the sign-extended IOVA.
/// A failed call changes nothing, down to the order of the pool's free lists: map works leaf by leaf
/// and, on EEXIST or ENOMEM, clears the leaves it wrote and frees the tables it created in reverse
/// order; unmap knows before it starts how many tables its block splits need (splits only happen at
/// the two ends of the range). TLB maintenance is the caller's: unmap reports what it removed.
/// </summary>
internal sealed class PageTableMapper
{
    private readonly PagePool _pool;
    // The tables the current map call created, in order, with the slot pointing at each: its undo log.
    private CreatedTable[] _created = new CreatedTable[8];
    private int _createdCount;
    private bool _removedGlobal;   // set by the unmap or free in progress
    private bool _deferFrees;      // the unmap in progress keeps emptied tables on _deferred instead of freeing them
    private PageList _deferred;

    private readonly record struct CreatedTable(ulong Parent, int Index, ulong Table, bool RecentlyFreed);

    public PageTableMapper(PagePool pool) => _pool = pool;

    /// <summary>Takes an empty root table (all its concatenated tables) from the pool; false when the pool has no block for it.</summary>
    public bool TryCreateRoot(in TableFormat format, out ulong root) =>
        _pool.TryAllocate(format.TableOrder(format.StartLevel), format.StartLevel, out root);

    /// <summary>
    /// Maps [iova, iova + size) to [pa, pa + size), each piece with the largest leaf that alignment and
    /// size allow. Returns 0, or Invalid (not aligned to the granule, size 0, no READ/WRITE, unknown bits,
    /// GLOBAL on a stage-2 table), Range (beyond 2^ias or 2^oas), Exists (overlap), NoMemory (pool) — with
    /// nothing changed. The checks come in that order; a range that overlaps and needs more tables than
    /// are free is Exists.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Map(in TableFormat format, ulong root, ulong inputBase, ulong iova, ulong pa, ulong size, SmmuProt prot) =>
        Map(format, root, inputBase, iova, pa, size, prot, LargestLeaves);

    /// <summary>True when <paramref name="prot"/> has no unknown bit, READ or WRITE, and no GLOBAL for a stage-2 table.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool ProtFits(in TableFormat format, SmmuProt prot) =>
        (prot & ~SmmuProt.All) == 0 && (prot & (SmmuProt.Read | SmmuProt.Write)) != 0
        && !(format.Stage == 2 && (prot & SmmuProt.Global) != 0);

    /// <summary>For <see cref="Map(in TableFormat, ulong, ulong, ulong, ulong, ulong, SmmuProt, int)"/>: each piece as large as alignment and size allow.</summary>
    public const int LargestLeaves = -1;

    /// <summary>
    /// <see cref="Map(in TableFormat, ulong, ulong, ulong, ulong, ulong, SmmuProt)"/> with every leaf at
    /// <paramref name="leafLevel"/> (<c>map_pages</c>: the page size picks the level; the caller checked that
    /// the format has leaves there and that iova, pa and size are aligned to them), or <see cref="LargestLeaves"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]   // the checks and the one-page path fold into the caller
    public int Map(in TableFormat format, ulong root, ulong inputBase, ulong iova, ulong pa, ulong size, SmmuProt prot, int leafLevel)
    {
        if (size == 0 || !Geometry.IsAligned(iova | pa | size, format.PageShift) || !ProtFits(format, prot))
            return SmmuError.Invalid;
        iova -= inputBase;   // below the base wraps above 2^64 − 2^48: out of range like anything past 2^ias
        if (iova >= format.InputLimit || size > format.InputLimit - iova || pa >= format.OutputLimit || size > format.OutputLimit - pa)
            return SmmuError.Range;

        ulong attributes = format.Stage == 2 ? Stage2Pte.AttributesFor(prot) : Pte.AttributesFor(prot);
        _createdCount = 0;
        if (size == format.GranuleSize)
        {
            // One page: the only leaf that fits, whatever leafLevel asked. With the 4 KiB granule as a constant, the
            // inlined descent's shifts and masks are constants too (fewer registers, fewer spills).
            return format.PageShift == Geometry.Granule4K
                ? MapOnePage(format, root, iova, pa, attributes, Geometry.Granule4K)
                : MapOnePageAnyGranule(format, root, iova, pa, attributes);
        }
        return MapRange(format, root, iova, pa, size, attributes, leafLevel);
    }

    /// <summary>The general map of [iova, iova + size) (an offset in the tree), checked: run by run, rolled back on failure.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int MapRange(in TableFormat format, ulong root, ulong iova, ulong pa, ulong size, ulong attributes, int leafLevel)
    {
        ulong va = iova, end = iova + size;
        while (va < end)
        {
            int rc = MapRun(format, root, ref va, ref pa, end, attributes, leafLevel);
            if (rc != SmmuError.Ok)
            {
                RollBack(format, root, iova, va);
                // A map that both overlaps and lacks tables is EEXIST, wherever the overlap lies: the
                // answer must not depend on which problem the walk met first.
                if (rc == SmmuError.NoMemory && AnyLeafIn(format, root, format.StartLevel, va, end))
                    rc = SmmuError.Exists;
                return rc;
            }
        }
        return SmmuError.Ok;
    }

    /// <summary>
    /// Removes every mapping inside [iova, iova + size), holes or not; a block that is only partly
    /// inside is split into the next level first (one table per split). Returns the bytes unmapped, or
    /// Invalid, Range, NoMemory (no table for a split) with nothing changed. Emptied tables go back to
    /// the pool (the root stays). <paramref name="removedGlobal"/> says a global (nG = 0) stage-1 leaf was
    /// removed: its TLB entries match every ASID, so the caller's invalidation must reach them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long Unmap(in TableFormat format, ulong root, ulong inputBase, ulong iova, ulong size, out bool removedGlobal) =>
        Unmap(format, root, inputBase, iova, size, deferFrees: false, out removedGlobal, out _);

    /// <summary>
    /// <see cref="Unmap(in TableFormat, ulong, ulong, ulong, ulong, out bool)"/>, but with <paramref name="deferFrees"/>
    /// the tables it empties are unlinked and handed back in <paramref name="emptiedTables"/>, still in use, for
    /// the caller to free after its TLB sync.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]   // the checks and the one-page path fold into the caller
    public long Unmap(in TableFormat format, ulong root, ulong inputBase, ulong iova, ulong size, bool deferFrees,
                      out bool removedGlobal, out PageList emptiedTables)
    {
        removedGlobal = false;
        emptiedTables = default;
        if (size == 0 || !Geometry.IsAligned(iova | size, format.PageShift))
            return SmmuError.Invalid;
        iova -= inputBase;
        if (iova >= format.InputLimit || size > format.InputLimit - iova)
            return SmmuError.Range;

        _removedGlobal = false;
        _deferFrees = deferFrees;
        _deferred = default;
        if (size == format.GranuleSize
            && (format.PageShift == Geometry.Granule4K   // as in Map: the 4 KiB granule's descent with constant shifts
                ? UnmapOnePage(format, root, iova, Geometry.Granule4K, out bool pageMapped)
                : UnmapOnePageAnyGranule(format, root, iova, out pageMapped)))
        {
            // The common driver call (dma_unmap_page): one page, no block to split.
            removedGlobal = _removedGlobal;
            emptiedTables = _deferred;
            _deferred = default;
            return pageMapped ? (long)size : 0;
        }
        return UnmapRange(format, root, iova, size, out removedGlobal, out emptiedTables);
    }

    /// <summary>The general unmap of [iova, iova + size) (an offset in the tree), checked, with the fields of the call set.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private long UnmapRange(in TableFormat format, ulong root, ulong iova, ulong size, out bool removedGlobal, out PageList emptiedTables)
    {
        removedGlobal = false;
        emptiedTables = default;
        ulong end = iova + size, ignored = 0, unmapped = 0;
        int splitsNeeded = -1;   // not counted: the pool has tables for the most any unmap can split
        // Only a block that the range covers in part needs a split, and only at the range's two ends: at most
        // one table per block level per end. With that many free, nothing can fail; otherwise count first.
        int splitTableOrder = format.TableOrder(format.StartLevel + 1);
        int mostSplits = 2 * (Geometry.LastLevel - Math.Max(format.FirstBlockLevel, format.StartLevel));
        if (!_pool.HasFreeBlocks(splitTableOrder, mostSplits))
        {
            splitsNeeded = 0;
            if (EndNeedsSplit(format, root, iova, iova, end, out ulong firstLeafEnd)
                || (end > firstLeafEnd && EndNeedsSplit(format, root, end - 1, iova, end, out _)))
            {
                splitsNeeded = UnmapLevel(format, root, format.StartLevel, iova, end, commit: false, insideSplitBlock: false, ref ignored);
                if (splitsNeeded > _pool.FreeBlocksOf(splitTableOrder))
                    return SmmuError.NoMemory;
            }
        }
        int splits = UnmapLevel(format, root, format.StartLevel, iova, end, commit: true, insideSplitBlock: false, ref unmapped);
        Debug.Assert(splitsNeeded < 0 ? splits <= mostSplits : splits == splitsNeeded);
        removedGlobal = _removedGlobal;
        emptiedTables = _deferred;
        _deferred = default;
        return (long)unmapped;
    }

    /// <summary>
    /// Unmaps the one granule-sized page at <paramref name="va"/> (an offset in the tree) when no block covers it:
    /// one descent, the leaf cleared, the tables it emptied freed (or deferred) bottom-up, as
    /// <see cref="UnmapLevel"/> would. False, with nothing changed, when a block covers the page (it must be
    /// split: the general path). <paramref name="mapped"/> says a page was there.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]   // folds into SmmuInstance.Unmap: one frame for the common call
    private bool UnmapOnePage(in TableFormat format, ulong root, ulong va, int pageShift, out bool mapped)
    {
        Debug.Assert(pageShift == format.PageShift);
        mapped = false;
        TableMemory tables = _pool.Tables;   // the format's fields and the pool's bases in registers through the stores below
        int startLevel = format.StartLevel, levelBits = pageShift - 3;
        ulong tableMask = Pte.TableAddressMask(pageShift);
        ulong table = root, parent = 0;   // parent and parentIndex: the slot that points at table (below the root)
        int parentIndex = 0;
        int level = startLevel;
        int shift = format.LevelShift(level);
        ulong indexMask = (ulong)format.EntriesAt(level) - 1;
        ulong pte;
        int index;
        for (; ; level++)
        {
            index = (int)((va >> shift) & indexMask);
            shift -= levelBits;
            indexMask = (1UL << levelBits) - 1;
            pte = tables.Descriptor(table, index);
            if (!Pte.IsValid(pte))
                return true;   // a hole: nothing to unmap
            if (!Pte.IsTable(pte, level))
                break;
            parent = table;
            parentIndex = index;
            table = pte & tableMask;
        }
        if (level != Geometry.LastLevel)
            return false;  // a block larger than the page
        _removedGlobal |= format.Stage == 1 && Pte.IsGlobal(pte);
        tables.Descriptor(table, index) = 0;
        mapped = true;
        if (--tables.ValidCount(table) != 0 || level == startLevel)
            return true;
        // The leaf's table emptied: unlinked and freed (or deferred); its parent in turn only if that emptied it too.
        tables.Descriptor(parent, parentIndex) = 0;
        int parentValid = --tables.ValidCount(parent);
        Release(table);
        if (parentValid == 0 && level - 1 > startLevel)
            ReleaseEmptiedAncestors(format, root, va, level - 1);
        return true;
    }

    /// <summary><see cref="UnmapOnePage"/> for the 16 and 64 KiB granules, out of line.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool UnmapOnePageAnyGranule(in TableFormat format, ulong root, ulong va, out bool mapped) =>
        UnmapOnePage(format, root, va, format.PageShift, out mapped);

    /// <summary>
    /// Unlinks and frees (or defers) the emptied table at <paramref name="level"/> on the way to <paramref name="va"/>,
    /// then each table above it that this empties, bottom-up, as <see cref="UnmapLevel"/> would. Rare: the path is
    /// found again from the root.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ReleaseEmptiedAncestors(in TableFormat format, ulong root, ulong va, int level)
    {
        Span<ulong> tables = stackalloc ulong[Geometry.LastLevel + 1];
        Span<int> indexes = stackalloc int[Geometry.LastLevel + 1];
        tables[format.StartLevel] = root;
        for (int l = format.StartLevel; l < level; l++)
        {
            indexes[l] = format.IndexOf(va, l);
            tables[l + 1] = Pte.TableAddress(_pool.Descriptor(tables[l], indexes[l]), format.PageShift);
        }
        for (int l = level; l > format.StartLevel && _pool.ValidCount(tables[l]) == 0; l--)
        {
            Clear(tables[l - 1], indexes[l - 1]);
            Release(tables[l]);
        }
    }

    /// <summary>An emptied, unlinked table goes back to the pool, or on the deferred list of the unmap in progress.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Release(ulong table)
    {
        if (_deferFrees)
            _pool.Defer(ref _deferred, table);
        else
            _pool.Free(table);
    }

    /// <summary>
    /// Returns every table of the tree under <paramref name="root"/>, and the root, to the pool. True when
    /// the tree held a global (nG = 0) stage-1 leaf, whose TLB entries outlive the ASID's invalidation.
    /// </summary>
    public bool FreeAll(in TableFormat format, ulong root)
    {
        _removedGlobal = false;
        FreeTable(format, root, format.StartLevel);
        return _removedGlobal;
    }

    /// <summary>
    /// Maps the one granule-sized page at <paramref name="va"/> (an offset in the tree) — the common driver call
    /// (dma_map_page): one descent that creates the tables missing on the way (<see cref="DescendCreatingTables"/>),
    /// then the leaf. A block or page in the way is Exists, found before anything is created; a pool that runs out
    /// is NoMemory, after the tables this call created went back, last first (<see cref="RollBack"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]   // folds into SmmuInstance.Map: one frame for the common call
    private int MapOnePage(in TableFormat format, ulong root, ulong va, ulong pa, ulong attributes, int pageShift)
    {
        int rc = DescendCreatingTables(format, root, va, Geometry.LastLevel, pageShift, out ulong table, out int index);
        if (rc != SmmuError.Ok)
        {
            if (rc == SmmuError.NoMemory)
                RollBack(format, root, va, va);   // no leaf written: only the created tables go back
            return rc;
        }
        TableMemory tables = _pool.Tables;
        ref ulong leaf = ref tables.Descriptor(table, index);
        if (Pte.IsValid(leaf))
            return SmmuError.Exists;
        leaf = Pte.Leaf(pa, attributes, Geometry.LastLevel);
        tables.ValidCount(table)++;
        return SmmuError.Ok;
    }

    /// <summary><see cref="MapOnePage"/> for the 16 and 64 KiB granules, out of line.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int MapOnePageAnyGranule(in TableFormat format, ulong root, ulong va, ulong pa, ulong attributes) =>
        MapOnePage(format, root, va, pa, attributes, format.PageShift);

    /// <summary>
    /// Descends from <paramref name="root"/> to the table at <paramref name="leafLevel"/> that holds <paramref name="va"/>'s
    /// slot (<paramref name="leafIndex"/>), creating the tables missing on the way and logging each (<see cref="RollBack"/> gives them back). Exists when
    /// a block covers va on the way — always before anything was created, since a table this call creates is empty;
    /// NoMemory when the pool runs out. The index shift steps down one level's bits at a time.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int DescendCreatingTables(in TableFormat format, ulong root, ulong va, int leafLevel, int pageShift, out ulong leafTable, out int leafIndex)
    {
        Debug.Assert(pageShift == format.PageShift);
        TableMemory tables = _pool.Tables;   // the format's fields and the pool's bases in registers through the stores below
        int levelBits = pageShift - 3;
        ulong tableMask = Pte.TableAddressMask(pageShift);
        ulong table = root;
        int shift = format.LevelShift(format.StartLevel);
        ulong indexMask = (ulong)format.EntriesAt(format.StartLevel) - 1;
        leafTable = 0;
        leafIndex = 0;
        for (int level = format.StartLevel; level < leafLevel; level++)
        {
            int index = (int)((va >> shift) & indexMask);
            ref ulong slot = ref tables.Descriptor(table, index);
            shift -= levelBits;
            indexMask = (1UL << levelBits) - 1;
            ulong pte = slot;
            if (Pte.IsTable(pte, level))
            {
                table = pte & tableMask;
                continue;
            }
            if (Pte.IsValid(pte))
                return SmmuError.Exists;   // a block already covers va
            if (!_pool.TryAllocate(format.TableOrder(level + 1), level + 1, out ulong next, out bool recentlyFreed))
                return SmmuError.NoMemory;
            LogCreated(table, index, next, recentlyFreed);
            slot = Pte.Table(next);
            tables.ValidCount(table)++;
            table = next;
        }
        leafTable = table;
        leafIndex = (int)((va >> shift) & indexMask);
        return SmmuError.Ok;
    }

    /// <summary>
    /// Maps from <paramref name="va"/> the leaves of one size that fit in one table: descends to that
    /// table (creating missing tables and logging them), then fills consecutive slots. A larger leaf
    /// could only start at a table's first slot, so the size holds within the run. Advances va and pa.
    /// </summary>
    private int MapRun(in TableFormat format, ulong root, ref ulong va, ref ulong pa, ulong end, ulong attributes, int forcedLeafLevel)
    {
        int leafLevel = forcedLeafLevel == LargestLeaves ? format.LeafLevel(va, pa, end - va) : forcedLeafLevel;
        int rc = DescendCreatingTables(format, root, va, leafLevel, format.PageShift, out ulong table, out int firstIndex);
        if (rc != SmmuError.Ok)
            return rc;
        ulong leafSize = format.LevelSize(leafLevel);
        int lastIndex = format.EntriesAt(leafLevel) - 1;
        ref int valid = ref _pool.ValidCount(table);
        for (int index = firstIndex; ; index++)
        {
            ref ulong slot = ref _pool.Descriptor(table, index);
            if (Pte.IsValid(slot))
                return SmmuError.Exists;
            slot = Pte.Leaf(pa, attributes, leafLevel);
            valid++;
            va += leafSize;
            pa += leafSize;
            if (index == lastIndex || end - va < leafSize)
                return SmmuError.Ok;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void LogCreated(ulong parent, int index, ulong table, bool recentlyFreed)
    {
        if (_createdCount == _created.Length)
            GrowLog();
        _created[_createdCount++] = new CreatedTable(parent, index, table, recentlyFreed);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void GrowLog() => Array.Resize(ref _created, _created.Length * 2);

    /// <summary>
    /// Undoes a failed map: clears the leaves it wrote in [iova, mappedEnd), then frees the tables it
    /// created, last first, so that the pool's free lists are as they were.
    /// </summary>
    private void RollBack(in TableFormat format, ulong root, ulong iova, ulong mappedEnd)
    {
        ClearLeaves(format, root, format.StartLevel, iova, mappedEnd);
        for (int i = _createdCount - 1; i >= 0; i--)
        {
            CreatedTable created = _created[i];
            Clear(created.Parent, created.Index);
            _pool.Return(created.Table, created.RecentlyFreed);
        }
        _createdCount = 0;
    }

    /// <summary>Clears every leaf in [va, end), all of them written by the failed map; frees nothing.</summary>
    private void ClearLeaves(in TableFormat format, ulong table, int level, ulong va, ulong end)
    {
        ulong size = format.LevelSize(level);
        while (va < end)
        {
            ulong slotEnd = Math.Min(end, Geometry.AlignDown(va, size) + size);
            int index = format.IndexOf(va, level);
            ulong pte = _pool.Descriptor(table, index);
            if (Pte.IsTable(pte, level))
                ClearLeaves(format, Pte.TableAddress(pte, format.PageShift), level + 1, va, slotEnd);
            else if (Pte.IsValid(pte))
                Clear(table, index);
            va = slotEnd;
        }
    }

    /// <summary>True when some valid leaf maps an input address in [va, end).</summary>
    private bool AnyLeafIn(in TableFormat format, ulong table, int level, ulong va, ulong end)
    {
        ulong size = format.LevelSize(level);
        while (va < end)
        {
            ulong slotEnd = Math.Min(end, Geometry.AlignDown(va, size) + size);
            ulong pte = _pool.Descriptor(table, format.IndexOf(va, level));
            if (Pte.IsTable(pte, level) ? AnyLeafIn(format, Pte.TableAddress(pte, format.PageShift), level + 1, va, slotEnd) : Pte.IsValid(pte))
                return true;
            va = slotEnd;
        }
        return false;
    }

    /// <summary>
    /// True when the leaf that maps <paramref name="va"/> (one end of the range) is a block only partly
    /// inside [start, end). <paramref name="leafEnd"/> is where that leaf, or the hole, ends: when the
    /// other end lies before it, both ends share it and one walk answers for both.
    /// </summary>
    private bool EndNeedsSplit(in TableFormat format, ulong root, ulong va, ulong start, ulong end, out ulong leafEnd)
    {
        ulong table = root;
        for (int level = format.StartLevel; ; level++)
        {
            ulong pte = _pool.Descriptor(table, format.IndexOf(va, level));
            ulong leafStart = Geometry.AlignDown(va, format.LevelSize(level));
            leafEnd = leafStart + format.LevelSize(level);
            if (Pte.IsTable(pte, level))
            {
                table = Pte.TableAddress(pte, format.PageShift);
                continue;
            }
            return Pte.IsValid(pte) && (leafStart < start || leafEnd > end);
        }
    }

    /// <summary>
    /// One level of <see cref="Unmap(in TableFormat, ulong, ulong, ulong, ulong, bool, out bool, out PageList)"/>. Returns the splits needed at and below this level. In a dry run,
    /// <paramref name="insideSplitBlock"/> says that this level is a block that would have been split: it
    /// has no table yet (<paramref name="table"/> is meaningless) and every slot is a leaf. A flag, not a
    /// table address of 0: PA 0 is a valid table address.
    /// </summary>
    private int UnmapLevel(in TableFormat format, ulong table, int level, ulong va, ulong end, bool commit, bool insideSplitBlock,
                           ref ulong unmapped)
    {
        ulong size = format.LevelSize(level);
        int splits = 0;
        while (va < end)
        {
            ulong leafStart = Geometry.AlignDown(va, size);
            ulong slotEnd = Math.Min(end, leafStart + size);
            int index = format.IndexOf(va, level);
            ulong pte = insideSplitBlock ? Pte.Leaf(0, 0, level) : _pool.Descriptor(table, index);
            if (!Pte.IsValid(pte))
            {
                // a hole: nothing to remove
            }
            else if (Pte.IsTable(pte, level))
            {
                ulong child = Pte.TableAddress(pte, format.PageShift);
                splits += UnmapLevel(format, child, level + 1, va, slotEnd, commit, insideSplitBlock: false, ref unmapped);
                if (commit && _pool.ValidCount(child) == 0)
                {
                    Clear(table, index);
                    Release(child);
                }
            }
            else if (va == leafStart && slotEnd - va == size)
            {
                unmapped += size;
                if (commit)
                {
                    _removedGlobal |= format.Stage == 1 && Pte.IsGlobal(pte);
                    Clear(table, index);
                }
            }
            else
            {
                // Part of a block: split it into the next level, then unmap there (older Linux did
                // this; modern Linux refuses, which broke drivers that relied on it).
                splits++;
                ulong child = commit ? Split(format, table, index, pte, level) : 0;   // 0: unused, see insideSplitBlock
                splits += UnmapLevel(format, child, level + 1, va, slotEnd, commit, insideSplitBlock: !commit, ref unmapped);
            }
            va = slotEnd;
        }
        return splits;
    }

    /// <summary>Replaces the block at (table, index) with a table of next-level leaves mapping the same range.</summary>
    private ulong Split(in TableFormat format, ulong table, int index, ulong block, int level)
    {
        bool allocated = _pool.TryAllocate(format.TableOrder(level + 1), level + 1, out ulong child);
        Debug.Assert(allocated, "the dry run counted this split");
        ulong output = Pte.OutputAddress(block, format.LevelShift(level));
        ulong attributes = Pte.LeafAttributes(block);
        ulong step = format.LevelSize(level + 1);
        int entries = format.EntriesAt(level + 1);
        for (int i = 0; i < entries; i++)
            _pool.Descriptor(child, i) = Pte.Leaf(output + (ulong)i * step, attributes, level + 1);
        _pool.ValidCount(child) = entries;
        _pool.Descriptor(table, index) = Pte.Table(child);   // the parent's valid count is unchanged
        return child;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Clear(ulong table, int index)
    {
        _pool.Descriptor(table, index) = 0;
        _pool.ValidCount(table)--;
    }

    private void FreeTable(in TableFormat format, ulong table, int level)
    {
        int entries = format.EntriesAt(level);
        for (int i = 0; _pool.ValidCount(table) > 0 && i < entries; i++)
        {
            ulong pte = _pool.Descriptor(table, i);
            if (Pte.IsTable(pte, level))
                FreeTable(format, Pte.TableAddress(pte, format.PageShift), level + 1);
            else if (Pte.IsValid(pte) && format.Stage == 1 && Pte.IsGlobal(pte))
                _removedGlobal = true;
        }
        _pool.ZeroAndFree(table);   // it may still hold leaves: free memory must be zero
    }
}
