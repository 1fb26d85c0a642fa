using System.Diagnostics;
using Smmu.Core.Memory;

namespace Smmu.Core.PageTables;

/// <summary>
/// Builds and tears down stage-1 translation tables in the <see cref="PagePool"/> (io-pgtable-arm's
/// map / unmap / free). A failed call changes nothing, down to the order of the pool's free list:
/// map works leaf by leaf and, on EEXIST or ENOMEM, clears the leaves it wrote and frees the tables it
/// created in reverse order; unmap knows before it starts how many table pages its block splits need
/// (splits only happen at the two ends of the range). TLB maintenance is the caller's: unmap reports
/// what it removed.
/// </summary>
internal sealed class PageTableMapper
{
    private readonly PagePool _pool;
    private readonly int _startLevel;
    private readonly ulong _inputLimit;
    private readonly ulong _outputLimit;
    // The tables the current map call created, in order, with the slot pointing at each: its undo log.
    private CreatedTable[] _created = new CreatedTable[8];
    private int _createdCount;

    private readonly record struct CreatedTable(ulong Parent, int Index, ulong Table);

    public PageTableMapper(PagePool pool, in TableFormat format)
    {
        _pool = pool;
        _startLevel = format.StartLevel;
        _inputLimit = format.InputLimit;
        _outputLimit = format.OutputLimit;
    }

    /// <summary>Takes an empty root table from the pool; false when the pool is empty.</summary>
    public bool TryCreateRoot(out ulong root) => _pool.TryAllocate(_startLevel, out root);

    /// <summary>
    /// Maps [iova, iova + size) to [pa, pa + size), each piece with the largest leaf that alignment and
    /// size allow (1 GiB, 2 MiB, 4 KiB). Returns 0, or Invalid (misaligned, size 0, no READ/WRITE, unknown
    /// bits), Range (beyond 2^ias or 2^oas), Exists (overlap), NoMemory (pool) — with nothing changed.
    /// The checks come in that order; a range that overlaps and needs more pages than are free is Exists.
    /// </summary>
    public int Map(ulong root, ulong iova, ulong pa, ulong size, SmmuProt prot)
    {
        if (size == 0 || !Geometry.IsPageAligned(iova | pa | size)
            || (prot & ~SmmuProt.All) != 0 || (prot & (SmmuProt.Read | SmmuProt.Write)) == 0)
            return SmmuError.Invalid;
        if (iova >= _inputLimit || size > _inputLimit - iova || pa >= _outputLimit || size > _outputLimit - pa)
            return SmmuError.Range;

        ulong attributes = Pte.AttributesFor(prot);
        _createdCount = 0;
        ulong va = iova, end = iova + size;
        while (va < end)
        {
            int rc = MapRun(root, ref va, ref pa, end, attributes);
            if (rc != SmmuError.Ok)
            {
                RollBack(root, iova, va);
                // A map that both overlaps and lacks table pages is EEXIST, wherever the overlap lies:
                // the answer must not depend on which problem the walk met first.
                if (rc == SmmuError.NoMemory && AnyLeafIn(root, _startLevel, va, end))
                    rc = SmmuError.Exists;
                return rc;
            }
        }
        return SmmuError.Ok;
    }

    /// <summary>True when some valid leaf maps an address in [va, end).</summary>
    private bool AnyLeafIn(ulong table, int level, ulong va, ulong end)
    {
        ulong size = Geometry.LevelSize(level);
        while (va < end)
        {
            ulong slotEnd = Math.Min(end, Geometry.AlignDown(va, size) + size);
            ulong pte = _pool.Descriptor(table, IndexOf(va, level));
            if (Pte.IsTable(pte, level) ? AnyLeafIn(Pte.TableAddress(pte), level + 1, va, slotEnd) : Pte.IsValid(pte))
                return true;
            va = slotEnd;
            if (va == 0)
                break;   // wrapped past 2^64
        }
        return false;
    }

    /// <summary>
    /// Removes every mapping inside [iova, iova + size), holes or not; a block that is only partly
    /// inside is split into the next level first (one table page per split). Returns the bytes
    /// unmapped, or Invalid, Range, NoMemory (no page for a split) with nothing changed. Emptied
    /// tables go back to the pool (the root stays).
    /// </summary>
    public long Unmap(ulong root, ulong iova, ulong size)
    {
        if (size == 0 || !Geometry.IsPageAligned(iova | size))
            return SmmuError.Invalid;
        if (iova >= _inputLimit || size > _inputLimit - iova)
            return SmmuError.Range;

        ulong end = iova + size, ignored = 0, unmapped = 0;
        int splitsNeeded = 0;
        if (EndNeedsSplit(root, iova, iova, end, out ulong firstLeafEnd)
            || (end > firstLeafEnd && EndNeedsSplit(root, end - 1, iova, end, out _)))
        {
            // Only a block that the range covers in part needs a split, and only at the range's ends.
            splitsNeeded = UnmapLevel(root, _startLevel, iova, end, commit: false, insideSplitBlock: false, ref ignored);
            if (splitsNeeded > _pool.FreePages)
                return SmmuError.NoMemory;
        }
        int splits = UnmapLevel(root, _startLevel, iova, end, commit: true, insideSplitBlock: false, ref unmapped);
        Debug.Assert(splits == splitsNeeded);
        return (long)unmapped;
    }

    /// <summary>Returns every table of the address space under <paramref name="root"/>, and the root, to the pool.</summary>
    public void FreeAll(ulong root) => FreeTable(root, _startLevel);

    /// <summary>
    /// Maps from <paramref name="va"/> the leaves of one size that fit in one table: descends to that
    /// table (creating missing tables and logging them), then fills consecutive slots. A larger leaf
    /// could only start at a table's first slot, so the size holds within the run. Advances va and pa.
    /// </summary>
    private int MapRun(ulong root, ref ulong va, ref ulong pa, ulong end, ulong attributes)
    {
        int leafLevel = LeafLevel(va, pa, end - va);
        ulong table = root;
        for (int level = _startLevel; level < leafLevel; level++)
        {
            int index = IndexOf(va, level);
            ref ulong slot = ref _pool.Descriptor(table, index);
            if (Pte.IsTable(slot, level))
            {
                table = Pte.TableAddress(slot);
                continue;
            }
            if (Pte.IsValid(slot))
                return SmmuError.Exists;   // a block already covers va
            if (!_pool.TryAllocate(level + 1, out ulong next))
                return SmmuError.NoMemory;
            LogCreated(table, index, next);
            slot = Pte.Table(next);
            _pool.ValidCount(table)++;
            table = next;
        }
        ulong leafSize = Geometry.LevelSize(leafLevel);
        ref ushort valid = ref _pool.ValidCount(table);
        for (int index = IndexOf(va, leafLevel); ; index++)
        {
            ref ulong slot = ref _pool.Descriptor(table, index);
            if (Pte.IsValid(slot))
                return SmmuError.Exists;
            slot = Pte.Leaf(pa, attributes, leafLevel);
            valid++;
            va += leafSize;
            pa += leafSize;
            if (index == Geometry.EntriesPerTable - 1 || end - va < leafSize)
                return SmmuError.Ok;
        }
    }

    /// <summary>The largest leaf level (1 GiB, 2 MiB, 4 KiB) that alignment and the remaining size allow.</summary>
    private static int LeafLevel(ulong va, ulong pa, ulong remaining)
    {
        for (int level = Geometry.FirstBlockLevel; level < Geometry.LastLevel; level++)
        {
            ulong size = Geometry.LevelSize(level);
            if (((va | pa) & (size - 1)) == 0 && remaining >= size)
                return level;
        }
        return Geometry.LastLevel;
    }

    private static int IndexOf(ulong va, int level) => (int)(va >> Geometry.LevelShift(level)) & (Geometry.EntriesPerTable - 1);

    private void LogCreated(ulong parent, int index, ulong table)
    {
        if (_createdCount == _created.Length)
            Array.Resize(ref _created, _created.Length * 2);
        _created[_createdCount++] = new CreatedTable(parent, index, table);
    }

    /// <summary>
    /// Undoes a failed map: clears the leaves it wrote in [iova, mappedEnd), then frees the tables it
    /// created, last first, so that the pool's free list is as it was.
    /// </summary>
    private void RollBack(ulong root, ulong iova, ulong mappedEnd)
    {
        ClearLeaves(root, _startLevel, iova, mappedEnd);
        for (int i = _createdCount - 1; i >= 0; i--)
        {
            CreatedTable created = _created[i];
            Clear(created.Parent, created.Index);
            _pool.Free(created.Table);
        }
        _createdCount = 0;
    }

    /// <summary>Clears every leaf in [va, end), all of them written by the failed map; frees nothing.</summary>
    private void ClearLeaves(ulong table, int level, ulong va, ulong end)
    {
        ulong size = Geometry.LevelSize(level);
        while (va < end)
        {
            ulong slotEnd = Math.Min(end, Geometry.AlignDown(va, size) + size);
            int index = IndexOf(va, level);
            ulong pte = _pool.Descriptor(table, index);
            if (Pte.IsTable(pte, level))
                ClearLeaves(Pte.TableAddress(pte), level + 1, va, slotEnd);
            else if (Pte.IsValid(pte))
                Clear(table, index);
            va = slotEnd;
        }
    }

    /// <summary>
    /// True when the leaf that maps <paramref name="va"/> (one end of the range) is a block only partly
    /// inside [start, end). <paramref name="leafEnd"/> is where that leaf, or the hole, ends: when the
    /// other end lies before it, both ends share it and one walk answers for both.
    /// </summary>
    private bool EndNeedsSplit(ulong root, ulong va, ulong start, ulong end, out ulong leafEnd)
    {
        ulong table = root;
        for (int level = _startLevel; ; level++)
        {
            ulong pte = _pool.Descriptor(table, IndexOf(va, level));
            ulong leafStart = Geometry.AlignDown(va, Geometry.LevelSize(level));
            leafEnd = leafStart + Geometry.LevelSize(level);
            if (Pte.IsTable(pte, level))
            {
                table = Pte.TableAddress(pte);
                continue;
            }
            return Pte.IsValid(pte) && (leafStart < start || leafEnd > end);
        }
    }

    /// <summary>
    /// One level of <see cref="Unmap"/>. Returns the splits needed at and below this level. In a dry run,
    /// <paramref name="insideSplitBlock"/> says that this level is a block that would have been split: it
    /// has no table yet (<paramref name="table"/> is meaningless) and every slot is a leaf. A flag, not a
    /// table address of 0: PA 0 is a valid table address.
    /// </summary>
    private int UnmapLevel(ulong table, int level, ulong va, ulong end, bool commit, bool insideSplitBlock, ref ulong unmapped)
    {
        ulong size = Geometry.LevelSize(level);
        int splits = 0;
        while (va < end)
        {
            ulong leafStart = Geometry.AlignDown(va, size);
            ulong slotEnd = Math.Min(end, leafStart + size);
            int index = IndexOf(va, level);
            ulong pte = insideSplitBlock ? Pte.Leaf(0, 0, level) : _pool.Descriptor(table, index);
            if (!Pte.IsValid(pte))
            {
                // a hole: nothing to remove
            }
            else if (Pte.IsTable(pte, level))
            {
                ulong child = Pte.TableAddress(pte);
                splits += UnmapLevel(child, level + 1, va, slotEnd, commit, insideSplitBlock: false, ref unmapped);
                if (commit && _pool.ValidCount(child) == 0)
                {
                    _pool.Free(child);
                    Clear(table, index);
                }
            }
            else if (va == leafStart && slotEnd - va == size)
            {
                unmapped += size;
                if (commit)
                    Clear(table, index);
            }
            else
            {
                // Part of a block: split it into the next level, then unmap there (older Linux did
                // this; modern Linux refuses, which broke drivers that relied on it).
                splits++;
                ulong child = commit ? Split(table, index, pte, level) : 0;   // 0: unused, see insideSplitBlock
                splits += UnmapLevel(child, level + 1, va, slotEnd, commit, insideSplitBlock: !commit, ref unmapped);
            }
            va = slotEnd;
        }
        return splits;
    }

    /// <summary>Replaces the block at (table, index) with a table of next-level leaves mapping the same range.</summary>
    private ulong Split(ulong table, int index, ulong block, int level)
    {
        bool allocated = _pool.TryAllocate(level + 1, out ulong child);
        Debug.Assert(allocated, "the dry run counted this split");
        ulong output = Pte.OutputAddress(block, level);
        ulong attributes = Pte.LeafAttributes(block);
        ulong step = Geometry.LevelSize(level + 1);
        for (int i = 0; i < Geometry.EntriesPerTable; i++)
            _pool.Descriptor(child, i) = Pte.Leaf(output + (ulong)i * step, attributes, level + 1);
        _pool.ValidCount(child) = Geometry.EntriesPerTable;
        _pool.Descriptor(table, index) = Pte.Table(child);   // the parent's valid count is unchanged
        return child;
    }

    private void Clear(ulong table, int index)
    {
        _pool.Descriptor(table, index) = 0;
        _pool.ValidCount(table)--;
    }

    private void FreeTable(ulong table, int level)
    {
        for (int i = 0; _pool.ValidCount(table) > 0 && i < Geometry.EntriesPerTable; i++)
        {
            ulong pte = _pool.Descriptor(table, i);
            if (Pte.IsTable(pte, level))
                FreeTable(Pte.TableAddress(pte), level + 1);
        }
        _pool.ZeroAndFree(table);   // it may still hold leaves: free pages must be zero
    }
}
