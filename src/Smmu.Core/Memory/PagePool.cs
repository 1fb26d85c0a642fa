using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Smmu.Core.PageTables;

namespace Smmu.Core.Memory;

/// <summary>
/// Simulated physical memory for translation tables: <c>pt_pool_bytes</c> at physical address
/// <c>pt_pool_base</c>, in 4 KiB frames, handed out as naturally aligned blocks of 2^order frames by a
/// buddy allocator — 4 KiB tables take one frame, 16 KiB four, 64 KiB sixteen, a concatenated
/// stage-2 root up to 16 granules. Blocks are aligned in physical address, as the architecture needs
/// tables to be; a pool whose base is only 4 KiB aligned is carved into the largest aligned blocks it
/// holds. Free lists are LIFO (a fresh pool hands out the lowest address first) and doubly linked. A
/// freed single frame is held back on a short LIFO list of recently freed frames and merged with its
/// buddies only when a larger block is wanted (or the list is full): a map that takes a 4 KiB table and
/// the unmap that frees it would otherwise split and re-merge a 1 MiB block every time. A caller that
/// gives back what it allocated, last first, through <see cref="Return"/>, restores every list exactly —
/// the undo log of a failed map relies on it. Free memory is always all-zero (the pool starts zeroed, a table is
/// freed either empty or through <see cref="ZeroAndFree"/>), so taking a block costs no clearing.
/// Per frame it keeps the table's level (or <see cref="FreeFrame"/>) for every frame a table covers, and
/// per table its count of valid descriptors, so that an emptied table can go back.
/// </summary>
internal sealed unsafe class PagePool : IDisposable
{
    /// <summary>Largest block: 2^8 frames (1 MiB: 16 concatenated 64 KiB tables).</summary>
    public const int MaxOrder = 8;
    private const sbyte FreeFrame = -1;
    private const int None = -1;

    private readonly NativeBuffer<byte> _memory;
    private byte* _host;                       // _memory.Pointer, one load closer to the walker; null once disposed
    private readonly ulong _baseFrame;         // Base >> FrameShift: buddies are found in absolute frame numbers
    private readonly int[] _freeHead = new int[MaxOrder + 1];
    private readonly int[] _freeBlocks = new int[MaxOrder + 1];   // blocks on each list
    private readonly int[] _next, _prev;       // free-list links, by frame index
    private readonly sbyte[] _freeOrder;       // order of the free block a frame heads, or -1
    // Per frame: the level of the table covering it (or FreeFrame), and for a frame that heads a table its block order and
    // valid count. Native, indexed without a bounds check: every frame index comes from a pool address.
    private readonly NativeBuffer<PoolFrame> _frameBuffer;
    private PoolFrame* _frames;                // _frameBuffer.Pointer; null once disposed
    // Recently freed single frames, not yet merged with their buddies (LIFO): a map that takes a 4 KiB table
    // and the unmap that frees it would otherwise split and merge a whole 1 MiB block every time.
    private readonly int[] _quick = new int[QuickCapacity];
    private int _quickCount;
    private const int QuickCapacity = 64;

    /// <summary>Physical address of the first frame.</summary>
    public ulong Base { get; }

    /// <summary>Bytes in the pool.</summary>
    public ulong Bytes { get; }

    /// <summary>4 KiB frames in the pool (the unit of <see cref="PagesInUse"/> and <see cref="FreePages"/>).</summary>
    public int PageCount { get; }

    /// <summary>Frames free.</summary>
    public int FreePages { get; private set; }

    /// <summary>Frames holding a table.</summary>
    public int PagesInUse => PageCount - FreePages;

    public PagePool(ulong baseAddress, ulong bytes)
    {
        Debug.Assert(Geometry.IsFrameAligned(baseAddress) && Geometry.IsFrameAligned(bytes) && bytes > 0);
        Base = baseAddress;
        Bytes = bytes;
        PageCount = checked((int)(bytes >> Geometry.FrameShift));
        _baseFrame = baseAddress >> Geometry.FrameShift;
        _memory = new NativeBuffer<byte>((nuint)bytes, (nuint)Geometry.FrameSize);
        _host = _memory.Pointer;
        _next = new int[PageCount];
        _prev = new int[PageCount];
        _freeOrder = new sbyte[PageCount];
        _frameBuffer = new NativeBuffer<PoolFrame>((nuint)PageCount);
        _frames = _frameBuffer.Pointer;
        Array.Fill(_freeOrder, (sbyte)None);
        for (int frame = 0; frame < PageCount; frame++)
            _frames[frame].Level = FreeFrame;
        Array.Fill(_freeHead, None);
        // Carve the pool into the largest blocks aligned in physical address, and push them highest
        // first, so that the lowest address is handed out first.
        var blocks = new List<(int Frame, int Order)>();
        for (int frame = 0; frame < PageCount;)
        {
            int order = MaxOrder;
            while (order > 0 && (((_baseFrame + (ulong)frame) & ((1UL << order) - 1)) != 0 || frame + (1 << order) > PageCount))
                order--;
            blocks.Add((frame, order));
            frame += 1 << order;
        }
        for (int i = blocks.Count - 1; i >= 0; i--)
            Push(blocks[i].Frame, blocks[i].Order);
        FreePages = PageCount;
    }

    /// <summary>
    /// Takes a zero block of 2^<paramref name="order"/> frames for a table at <paramref name="level"/>;
    /// false when no block that large is free.
    /// </summary>
    public bool TryAllocate(int order, int level, out ulong tablePa) => TryAllocate(order, level, out tablePa, out _);

    /// <summary>
    /// <see cref="TryAllocate(int, int, out ulong)"/>; <paramref name="recentlyFreed"/> says the block came off the
    /// recently freed frames, so that <see cref="Return"/> can put it back exactly where it was.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryAllocate(int order, int level, out ulong tablePa, out bool recentlyFreed)
    {
        Debug.Assert(order is >= 0 and <= MaxOrder);
        recentlyFreed = order == 0 && _quickCount > 0;
        if (recentlyFreed)
        {
            // The common case of a map that needs a 4 KiB table, inlined: the frame freed last.
            int single = Quick(--_quickCount);
            // A held-back frame was a one-frame table, emptied: its block order is 0 and its count 0 already.
            Debug.Assert(IsZero(single, 0) && _frames[single].BlockOrder == 0 && _frames[single].ValidCount == 0, "a free frame is all-zero and counts none");
            _frames[single].Level = (sbyte)level;
            FreePages--;
            tablePa = Base + ((ulong)single << Geometry.FrameShift);
            return true;
        }
        return TryAllocateFromLists(order, level, out tablePa);
    }

    /// <summary><see cref="TryAllocate(int, int, out ulong, out bool)"/> from the buddy lists (merging the frames held back first if they may complete a block).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryAllocateFromLists(int order, int level, out ulong tablePa)
    {
        if (!HasBlockOf(order) && _quickCount > 0)
            MergeRecentlyFreed();   // the frames held back may complete a block this size
        int k = order;
        while (k <= MaxOrder && _freeHead[k] == None)
            k++;
        if (k > MaxOrder)
        {
            tablePa = 0;
            return false;
        }
        int frame = _freeHead[k];
        Remove(frame, k);
        while (k > order)
        {
            k--;
            Push(frame + (1 << k), k);   // the upper half goes back; the lower half is split further or taken
        }
        // Free frames are all-zero and count no descriptors (a table is freed empty, or zeroed and its count reset).
        Debug.Assert(IsZero(frame, order) && _frames[frame].ValidCount == 0, "a free block is all-zero and counts none");
        _frames[frame].BlockOrder = (byte)order;
        for (int f = frame; f < frame + (1 << order); f++)
            _frames[f].Level = (sbyte)level;
        FreePages -= 1 << order;
        tablePa = Base + ((ulong)frame << Geometry.FrameShift);
        return true;
    }

    /// <summary>How many blocks of 2^<paramref name="order"/> frames the pool could hand out, one after another.</summary>
    public long FreeBlocksOf(int order)
    {
        if (order > 0 && _quickCount > 0)
            MergeRecentlyFreed();
        long blocks = order == 0 ? _quickCount : 0;
        for (int k = order; k <= MaxOrder; k++)
            blocks += (long)_freeBlocks[k] << (k - order);
        return blocks;
    }

    /// <summary>True when the pool has at least <paramref name="count"/> blocks of 2^<paramref name="order"/> frames; counts without merging when it can.</summary>
    public bool HasFreeBlocks(int order, int count)
    {
        if (order == 0)
            return FreePages >= count;   // every free frame is a block of one frame
        long quickly = 0;
        for (int k = order; k <= MaxOrder && quickly < count; k++)
            quickly += (long)_freeBlocks[k] << (k - order);
        return quickly >= count || FreeBlocksOf(order) >= count;
    }

    /// <summary>
    /// Returns an empty (all-zero) table to the pool. A single frame is held back with the recently freed
    /// ones (merged with its buddies only when a larger block is wanted); anything else merges at once.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Free(ulong tablePa)
    {
        int frame = FrameIndex(tablePa);
        if (_frames[frame].BlockOrder == 0 && _quickCount < QuickCapacity)
        {
            // The common case of an unmap that empties a 4 KiB table, inlined: held back, not merged.
            Debug.Assert(_frames[frame].Level != FreeFrame, "double free of a table");
            Debug.Assert(_frames[frame].ValidCount == 0 && IsZero(frame, 0), "only an empty table is freed as it is");
            _frames[frame].Level = FreeFrame;
            FreePages++;
            Quick(_quickCount++) = frame;
        }
        else
        {
            FreeAndMerge(frame);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void FreeAndMerge(int frame)
    {
        MarkFree(frame);
        Merge(frame, _frames[frame].BlockOrder);
    }

    /// <summary>
    /// Undoes <see cref="TryAllocate(int, int, out ulong, out bool)"/> (a failed map's rollback, last allocation
    /// first): the block goes back exactly where it came from, so every list is as it was.
    /// </summary>
    public void Return(ulong tablePa, bool recentlyFreed)
    {
        int frame = FrameIndex(tablePa);
        MarkFree(frame);
        if (recentlyFreed)
        {
            Debug.Assert(_quickCount < QuickCapacity);
            Quick(_quickCount++) = frame;
        }
        else
        {
            Merge(frame, _frames[frame].BlockOrder);
        }
    }

    /// <summary>Merges every held-back frame with its buddies.</summary>
    private void MergeRecentlyFreed()
    {
        // Oldest first: the order the frames would have been merged in had they been merged at once.
        int count = _quickCount;
        _quickCount = 0;
        for (int i = 0; i < count; i++)
            Merge(Quick(i), 0);
    }

    private bool HasBlockOf(int order)
    {
        for (int k = order; k <= MaxOrder; k++)
        {
            if (_freeHead[k] != None)
                return true;
        }
        return false;
    }

    /// <summary>The table block at <paramref name="frame"/> is free from now on (counted, its frames marked).</summary>
    private void MarkFree(int frame)
    {
        int order = _frames[frame].BlockOrder;
        Debug.Assert(_frames[frame].Level != FreeFrame, "double free of a table");
        Debug.Assert(_frames[frame].ValidCount == 0 && IsZero(frame, order), "only an empty table is freed as it is");
        for (int f = frame; f < frame + (1 << order); f++)
            _frames[f].Level = FreeFrame;
        FreePages += 1 << order;
    }

    /// <summary>Puts a free block on the free lists, merged with its free buddies.</summary>
    private void Merge(int frame, int order)
    {
        while (order < MaxOrder)
        {
            long buddy = (long)(((_baseFrame + (ulong)frame) ^ (1UL << order)) - _baseFrame);
            if (buddy < 0 || buddy >= PageCount || _freeOrder[buddy] != order)
                break;
            Remove((int)buddy, order);
            frame = Math.Min(frame, (int)buddy);
            order++;
        }
        Push(frame, order);
    }

    /// <summary>
    /// Puts an empty table that is no longer linked from any tree on <paramref name="list"/> instead of
    /// freeing it: it stays in use (not handed out again) until <see cref="FreeList"/>. A frame that heads
    /// a table is on no free list, so its free-list link is free to chain the list.
    /// </summary>
    public void Defer(ref PageList list, ulong tablePa)
    {
        int frame = FrameIndex(tablePa);
        Debug.Assert(_frames[frame].Level != FreeFrame && _frames[frame].ValidCount == 0, "only an empty table in use is deferred");
        _next[frame] = None;
        if (list.HeadPlusOne == 0)
            list.HeadPlusOne = frame + 1;
        else
            _next[list.TailPlusOne - 1] = frame;
        list.TailPlusOne = frame + 1;
        list.Tables++;
        list.Frames += 1 << _frames[frame].BlockOrder;
    }

    /// <summary>Appends <paramref name="other"/> to <paramref name="list"/>; <paramref name="other"/> becomes empty.</summary>
    public void Splice(ref PageList list, ref PageList other)
    {
        if (other.HeadPlusOne == 0)
            return;
        if (list.HeadPlusOne == 0)
            list.HeadPlusOne = other.HeadPlusOne;
        else
            _next[list.TailPlusOne - 1] = other.HeadPlusOne - 1;
        list.TailPlusOne = other.TailPlusOne;
        list.Tables += other.Tables;
        list.Frames += other.Frames;
        other = default;
    }

    /// <summary>Returns every table on <paramref name="list"/> to the pool, first to last; the list becomes empty.</summary>
    public void FreeList(ref PageList list)
    {
        for (int frame = list.HeadPlusOne - 1; frame != None;)
        {
            int next = _next[frame];
            Free(Base + ((ulong)frame << Geometry.FrameShift));
            frame = next;
        }
        list = default;
    }

    /// <summary>Zeroes a table that may still hold descriptors, then returns it to the pool.</summary>
    public void ZeroAndFree(ulong tablePa)
    {
        int frame = FrameIndex(tablePa);
        new Span<byte>(_host + ((nuint)frame << Geometry.FrameShift), (int)(Geometry.FrameSize << _frames[frame].BlockOrder)).Clear();
        _frames[frame].ValidCount = 0;
        Free(tablePa);
    }

    /// <summary>True when [pa, pa + 8) lies in the pool.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Contains(ulong pa) => pa - Base <= Bytes - Geometry.DescriptorSize;

    /// <summary>The level of the table covering <paramref name="pa"/> (a pool address), or -1 for free memory.</summary>
    public int LevelOfPage(ulong pa) => _frames[FrameIndex(pa)].Level;

    /// <summary>The descriptor at <paramref name="index"/> of the table at <paramref name="tablePa"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref ulong Descriptor(ulong tablePa, int index)
    {
        Debug.Assert(Contains(tablePa + (ulong)index * Geometry.DescriptorSize));
        return ref Tables.Descriptor(tablePa, index);
    }

    /// <summary>The 8 bytes at <paramref name="pa"/> (8-byte aligned, inside the pool).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref ulong Word(ulong pa)
    {
        Debug.Assert(Contains(pa) && (pa & 7) == 0);
        return ref *(ulong*)(_host + (pa - Base));
    }

    /// <summary>The 8 bytes <paramref name="offset"/> bytes into the pool (8-byte aligned, at most <see cref="Bytes"/> − 8).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong WordAtOffset(ulong offset)
    {
        Debug.Assert(offset <= Bytes - Geometry.DescriptorSize && (offset & 7) == 0);
        return *(ulong*)(_host + offset);
    }

    /// <summary>Asks the host CPU to start loading the line at pool offset <paramref name="offset"/> (at most <see cref="Bytes"/> − 8); a hint only.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Prefetch(ulong offset)
    {
        Debug.Assert(offset <= Bytes - Geometry.DescriptorSize);
        if (Sse.IsSupported)
            Sse.Prefetch0(_host + offset);
    }

    /// <summary>Valid descriptors in the table at <paramref name="tablePa"/>.</summary>
    public ref int ValidCount(ulong tablePa) => ref Tables.ValidCount(tablePa);

    /// <summary>
    /// The tables' descriptors and valid counts addressed by PA, for a hot path to keep in registers through its stores
    /// (valid until the pool is disposed; the owner checks that before every call).
    /// </summary>
    public TableMemory Tables
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => new(_host - Base, _frames - _baseFrame);
    }

    /// <summary>Frees the memory; the pool must not be used afterwards (its owner checks that).</summary>
    public void Dispose()
    {
        _host = null;
        _frames = null;
        _memory.Dispose();
        _frameBuffer.Dispose();
    }

    private void Push(int frame, int order)
    {
        int head = _freeHead[order];
        _next[frame] = head;
        _prev[frame] = None;
        if (head != None)
            _prev[head] = frame;
        _freeHead[order] = frame;
        _freeOrder[frame] = (sbyte)order;
        _freeBlocks[order]++;
    }

    private void Remove(int frame, int order)
    {
        int next = _next[frame], prev = _prev[frame];
        if (prev != None)
            _next[prev] = next;
        else
            _freeHead[order] = next;
        if (next != None)
            _prev[next] = prev;
        _freeOrder[frame] = (sbyte)None;
        _freeBlocks[order]--;
    }

    private bool IsZero(int frame, int order)
    {
        byte* start = _host + ((nuint)frame << Geometry.FrameShift);
        nuint length = (nuint)Geometry.FrameSize << order;
        for (nuint offset = 0; offset < length; offset += (nuint)Vector<byte>.Count)
            if (Vector.Load(start + offset) != Vector<byte>.Zero)
                return false;
        return true;
    }

    /// <summary>Slot <paramref name="i"/> (below <see cref="QuickCapacity"/>: the callers' counts keep it there) of the recently freed frames.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref int Quick(int i)
    {
        Debug.Assert((uint)i < QuickCapacity);
        return ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_quick), i);
    }

    private int FrameIndex(ulong pa) => (int)((pa - Base) >> Geometry.FrameShift);
}
