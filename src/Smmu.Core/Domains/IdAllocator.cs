using System.Diagnostics;
using System.Numerics;

namespace Smmu.Core.Domains;

/// <summary>
/// An ID space 1..<see cref="Capacity"/> (0 is reserved), handed out next-fit: each allocation takes the
/// lowest free ID above the last one handed out, wrapping around to 1, so a freed ID is reused as late as
/// possible. The caller invalidates an ID's TLB entries when it frees it, so a reused ID never hits its
/// previous owner's translations. Used for ASIDs and VMIDs (see <see cref="ForAsids"/>, <see cref="ForVmids"/>).
/// </summary>
internal sealed class IdAllocator
{
    private readonly ulong[] _used;
    private int _last;   // the ID handed out most recently

    private IdAllocator(int capacity)
    {
        Capacity = capacity;
        _used = new ulong[(capacity + 1 + 63) / 64];
        _used[0] = 1;   // 0 is never handed out
    }

    /// <summary>
    /// ASIDs for <paramref name="bits"/> = 8 or 16: 1..255, or 1..65534. ASID 0 marks an empty TLB way (as Linux's
    /// arm-smmu-v3 also keeps ASID 0 back) and 0xFFFF an entry without an ASID (see TlbLayout.NoAsid).
    /// </summary>
    public static IdAllocator ForAsids(int bits) => new(bits == 16 ? 0xFFFE : (1 << bits) - 1);

    /// <summary>VMIDs for <paramref name="bits"/> = 8 or 16: 1..255, or 1..32767 (a TLB tag holds VMIDs below 0x8000; see TlbLayout).</summary>
    public static IdAllocator ForVmids(int bits) => new(bits == 16 ? 0x7FFF : (1 << bits) - 1);

    /// <summary>IDs that can be in use at once; every ID in use is 1..Capacity.</summary>
    public int Capacity { get; }

    /// <summary>IDs in use.</summary>
    public int InUse { get; private set; }

    public bool IsInUse(int id) => (uint)id <= (uint)Capacity && (_used[id >> 6] & (1UL << id)) != 0;

    /// <summary>Takes the next free ID; false when all are in use.</summary>
    public bool TryAllocate(out ushort id)
    {
        id = 0;
        if (InUse == Capacity)
            return false;
        int found = FindFree(_last + 1, Capacity);
        if (found < 0)
            found = FindFree(1, _last);
        Debug.Assert(found > 0);
        _used[found >> 6] |= 1UL << found;
        _last = found;
        InUse++;
        id = (ushort)found;
        return true;
    }

    public void Free(ushort id)
    {
        Debug.Assert(IsInUse(id) && id != 0);
        _used[id >> 6] &= ~(1UL << id);
        InUse--;
    }

    /// <summary>The lowest free ID in [from, to], or -1.</summary>
    private int FindFree(int from, int to)
    {
        for (int word = from >> 6; word <= to >> 6 && from <= to; word++)
        {
            ulong free = ~_used[word];
            if (word == from >> 6)
                free &= ~0UL << (from & 63);
            if (free == 0)
                continue;
            int id = (word << 6) + BitOperations.TrailingZeroCount(free);
            return id <= to ? id : -1;
        }
        return -1;
    }
}
