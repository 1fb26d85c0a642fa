using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using Smmu.Core.PageTables;

namespace Smmu.Core.Memory;

/// <summary>
/// Simulated physical memory for translation tables: <c>pt_pool_bytes</c> of 4 KiB pages at
/// physical address <c>pt_pool_base</c>, handed out from a LIFO free list (a fresh pool hands out
/// the lowest address first). Free pages are always all-zero — the pool starts zeroed, and a table
/// is freed either empty (every invalid descriptor is 0) or through <see cref="ZeroAndFree"/> — so
/// taking a page costs no clearing. The walker reads descriptors from here by physical address.
/// Per page it also keeps what a table needs for bookkeeping: its level and how many of its
/// descriptors are valid, so that an emptied table can go back to the pool.
/// </summary>
internal sealed unsafe class PagePool : IDisposable
{
    private const sbyte FreePage = -1;

    private readonly NativeBuffer<byte> _memory;
    private readonly byte* _host;             // _memory.Pointer, one load closer to the walker
    private readonly int[] _freeStack;        // page indices; top = next page handed out
    private readonly ushort[] _validCount;    // per page: valid descriptors in the table
    private readonly sbyte[] _level;          // per page: table level, or FreePage
    private int _freeCount;

    /// <summary>Physical address of the first page.</summary>
    public ulong Base { get; }

    /// <summary>Bytes in the pool.</summary>
    public ulong Bytes { get; }

    /// <summary>Pages in the pool.</summary>
    public int PageCount { get; }

    /// <summary>Pages on the free list.</summary>
    public int FreePages => _freeCount;

    /// <summary>Pages holding a table.</summary>
    public int PagesInUse => PageCount - _freeCount;

    public PagePool(ulong baseAddress, ulong bytes)
    {
        Debug.Assert(Geometry.IsPageAligned(baseAddress) && Geometry.IsPageAligned(bytes) && bytes > 0);
        Base = baseAddress;
        Bytes = bytes;
        PageCount = checked((int)(bytes >> Geometry.PageShift));
        _memory = new NativeBuffer<byte>((nuint)bytes, (nuint)Geometry.PageSize);
        _host = _memory.Pointer;
        _freeStack = new int[PageCount];
        _validCount = new ushort[PageCount];
        _level = new sbyte[PageCount];
        for (int i = 0; i < PageCount; i++)
        {
            _freeStack[i] = PageCount - 1 - i;   // lowest page on top
            _level[i] = FreePage;
        }
        _freeCount = PageCount;
    }

    /// <summary>Takes a (zero) page for a table at <paramref name="level"/>; false when the pool is empty.</summary>
    public bool TryAllocate(int level, out ulong tablePa)
    {
        if (_freeCount == 0)
        {
            tablePa = 0;
            return false;
        }
        int page = _freeStack[--_freeCount];
        Debug.Assert(IsZero(_host + ((nuint)page << Geometry.PageShift)), "a free page is all-zero");
        _level[page] = (sbyte)level;
        _validCount[page] = 0;
        tablePa = Base + ((ulong)page << Geometry.PageShift);
        return true;
    }

    /// <summary>Returns an empty (all-zero) table page to the pool.</summary>
    public void Free(ulong tablePa)
    {
        int page = PageIndex(tablePa);
        Debug.Assert(_level[page] != FreePage, "double free of a table page");
        Debug.Assert(_validCount[page] == 0 && IsZero(_host + (tablePa - Base)), "only an empty table is freed as it is");
        _level[page] = FreePage;
        _freeStack[_freeCount++] = page;
    }

    /// <summary>Zeroes a table page that may still hold descriptors, then returns it to the pool.</summary>
    public void ZeroAndFree(ulong tablePa)
    {
        ZeroPage(_host + (tablePa - Base));
        _validCount[PageIndex(tablePa)] = 0;
        Free(tablePa);
    }

    /// <summary>True when [pa, pa + 8) lies in the pool.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Contains(ulong pa) => pa - Base <= Bytes - Geometry.DescriptorSize;

    /// <summary>The level of the table in the page holding <paramref name="pa"/>, or -1 for a free page.</summary>
    public int LevelOfPage(ulong pa) => _level[PageIndex(pa)];

    /// <summary>The descriptor at <paramref name="index"/> of the table at <paramref name="tablePa"/> (a pool page).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref ulong Descriptor(ulong tablePa, int index)
    {
        Debug.Assert(Contains(tablePa) && (uint)index < Geometry.EntriesPerTable);
        return ref *(ulong*)(_host + (tablePa - Base) + (ulong)index * Geometry.DescriptorSize);
    }

    /// <summary>The 8 bytes at <paramref name="pa"/> (8-byte aligned, inside the pool).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref ulong Word(ulong pa)
    {
        Debug.Assert(Contains(pa) && (pa & 7) == 0);
        return ref *(ulong*)(_host + (pa - Base));
    }

    /// <summary>Valid descriptors in the table at <paramref name="tablePa"/>.</summary>
    public ref ushort ValidCount(ulong tablePa) => ref _validCount[PageIndex(tablePa)];

    public void Dispose() => _memory.Dispose();

    private static void ZeroPage(byte* page)
    {
        for (nuint offset = 0; offset < (nuint)Geometry.PageSize; offset += (nuint)Vector<byte>.Count)
            Vector<byte>.Zero.Store(page + offset);
    }

    private static bool IsZero(byte* page)
    {
        for (nuint offset = 0; offset < (nuint)Geometry.PageSize; offset += (nuint)Vector<byte>.Count)
            if (Vector.Load(page + offset) != Vector<byte>.Zero)
                return false;
        return true;
    }

    private int PageIndex(ulong pa) => (int)((pa - Base) >> Geometry.PageShift);
}
