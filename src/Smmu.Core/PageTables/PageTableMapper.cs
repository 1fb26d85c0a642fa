using System.Diagnostics;
using Smmu.Core.Memory;

namespace Smmu.Core.PageTables;

/// <summary>
/// Builds and tears down stage-1 translation tables in the <see cref="PagePool"/> (io-pgtable-arm's
/// map / unmap / free). Every operation runs twice over the same traversal: a dry run that finds
/// conflicts and counts the table pages the change needs, then — only if the pool can supply them —
/// the commit, which cannot fail. A failed call therefore changes nothing. TLB maintenance is the
/// caller's: unmap reports what it removed.
/// </summary>
internal sealed class PageTableMapper
{
    private readonly PagePool _pool;
    private readonly int _startLevel;
    private readonly ulong _inputLimit;
    private readonly ulong _outputLimit;

    public PageTableMapper(PagePool pool, int ias, int oas)
    {
        _pool = pool;
        _startLevel = Geometry.StartLevel(ias);
        _inputLimit = 1UL << ias;
        _outputLimit = 1UL << oas;
    }

    /// <summary>The level of a root table.</summary>
    public int StartLevel => _startLevel;

    /// <summary>Takes an empty root table from the pool; false when the pool is empty.</summary>
    public bool TryCreateRoot(out ulong root) => _pool.TryAllocate(_startLevel, out root);

    /// <summary>
    /// Maps [iova, iova + size) to [pa, pa + size), each piece with the largest leaf that alignment and
    /// size allow (1 GiB, 2 MiB, 4 KiB). Returns 0, or Invalid (misaligned, size 0, no READ/WRITE, unknown
    /// bits), Range (beyond 2^ias or 2^oas), Exists (overlap), NoMemory (pool) — with nothing changed.
    /// </summary>
    public int Map(ulong root, ulong iova, ulong pa, ulong size, SmmuProt prot)
    {
        if (size == 0 || !Geometry.IsPageAligned(iova | pa | size)
            || (prot & ~SmmuProt.All) != 0 || (prot & (SmmuProt.Read | SmmuProt.Write)) == 0)
            return SmmuError.Invalid;
        if (iova >= _inputLimit || size > _inputLimit - iova || pa >= _outputLimit || size > _outputLimit - pa)
            return SmmuError.Range;

        ulong attributes = Pte.AttributesFor(prot);
        int tablesNeeded = MapLevel(root, _startLevel, iova, iova + size, pa, attributes, commit: false);
        if (tablesNeeded < 0)
            return tablesNeeded;
        if (tablesNeeded > _pool.FreePages)
            return SmmuError.NoMemory;
        int created = MapLevel(root, _startLevel, iova, iova + size, pa, attributes, commit: true);
        Debug.Assert(created == tablesNeeded);
        return SmmuError.Ok;
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

        ulong ignored = 0, unmapped = 0;
        int splitsNeeded = UnmapLevel(root, _startLevel, iova, iova + size, commit: false, ref ignored);
        if (splitsNeeded > _pool.FreePages)
            return SmmuError.NoMemory;
        int splits = UnmapLevel(root, _startLevel, iova, iova + size, commit: true, ref unmapped);
        Debug.Assert(splits == splitsNeeded && ignored == unmapped);
        return (long)unmapped;
    }

    /// <summary>Returns every table of the address space under <paramref name="root"/>, and the root, to the pool.</summary>
    public void FreeAll(ulong root) => FreeTable(root, _startLevel);

    /// <summary>
    /// One level of <see cref="Map"/>. <paramref name="table"/> is 0 in a dry run for a table that
    /// would be created. Returns the tables the range needs below this level, or Exists.
    /// </summary>
    private int MapLevel(ulong table, int level, ulong va, ulong end, ulong pa, ulong attributes, bool commit)
    {
        ulong size = Geometry.LevelSize(level);
        int shift = Geometry.LevelShift(level);
        int tables = 0;
        while (va < end)
        {
            ulong slotEnd = Math.Min(end, Geometry.AlignDown(va, size) + size);
            int index = (int)(va >> shift) & (Geometry.EntriesPerTable - 1);
            ulong pte = table == 0 ? 0 : _pool.Descriptor(table, index);
            bool leafFits = level >= Geometry.FirstBlockLevel && ((va | pa) & (size - 1)) == 0 && slotEnd - va == size;
            if (leafFits)
            {
                if (Pte.IsValid(pte))
                    return SmmuError.Exists;
                if (commit)
                {
                    _pool.Descriptor(table, index) = Pte.Leaf(pa, attributes, level);
                    _pool.ValidCount(table)++;
                }
            }
            else
            {
                ulong next = 0;
                if (!Pte.IsValid(pte))
                {
                    tables++;
                    if (commit)
                    {
                        bool allocated = _pool.TryAllocate(level + 1, out next);
                        Debug.Assert(allocated, "the dry run counted this table");
                        _pool.Descriptor(table, index) = Pte.Table(next);
                        _pool.ValidCount(table)++;
                    }
                }
                else if (Pte.IsTable(pte, level))
                {
                    next = Pte.TableAddress(pte);
                }
                else
                {
                    return SmmuError.Exists;   // a block already covers part of the range
                }
                int below = MapLevel(next, level + 1, va, slotEnd, pa, attributes, commit);
                if (below < 0)
                    return below;
                tables += below;
            }
            pa += slotEnd - va;
            va = slotEnd;
        }
        return tables;
    }

    /// <summary>
    /// One level of <see cref="Unmap"/>. <paramref name="table"/> is 0 in a dry run for a block that
    /// would have been split: all its slots are leaves. Returns the splits needed at and below this level.
    /// </summary>
    private int UnmapLevel(ulong table, int level, ulong va, ulong end, bool commit, ref ulong unmapped)
    {
        ulong size = Geometry.LevelSize(level);
        int shift = Geometry.LevelShift(level);
        int splits = 0;
        while (va < end)
        {
            ulong leafStart = Geometry.AlignDown(va, size);
            ulong slotEnd = Math.Min(end, leafStart + size);
            int index = (int)(va >> shift) & (Geometry.EntriesPerTable - 1);
            ulong pte = table == 0 ? Pte.Leaf(0, 0, level) : _pool.Descriptor(table, index);
            if (!Pte.IsValid(pte))
            {
                // a hole: nothing to remove
            }
            else if (Pte.IsTable(pte, level))
            {
                ulong child = Pte.TableAddress(pte);
                splits += UnmapLevel(child, level + 1, va, slotEnd, commit, ref unmapped);
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
                ulong child = commit ? Split(table, index, pte, level) : 0;
                splits += UnmapLevel(child, level + 1, va, slotEnd, commit, ref unmapped);
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
            if (Pte.IsTable(pte, level) && Pte.IsValid(pte))
                FreeTable(Pte.TableAddress(pte), level + 1);
        }
        _pool.Free(table);
    }
}
