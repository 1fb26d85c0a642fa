using System.Diagnostics;
using System.Numerics;

namespace Smmu.Core.Domains;

/// <summary>
/// The instance's ASID space, 1..2^bits-1 (ASID 0 is reserved: it marks invalid TLB ways, as
/// Linux's arm-smmu-v3 also keeps ASID 0 back). Next-fit: each allocation takes the lowest free
/// ASID above the last one handed out, wrapping around to 1, so a freed ASID is reused as late as
/// possible. The caller invalidates an ASID's TLB entries when it frees it, so a reused ASID never
/// hits its previous owner's translations.
/// </summary>
internal sealed class AsidAllocator
{
    private readonly ulong[] _used;
    private int _last;   // the ASID handed out most recently

    public AsidAllocator(int bits)
    {
        Capacity = (1 << bits) - 1;
        _used = new ulong[(Capacity + 1 + 63) / 64];
        _used[0] = 1;   // ASID 0 is never handed out
    }

    /// <summary>ASIDs that can be in use at once.</summary>
    public int Capacity { get; }

    /// <summary>ASIDs in use.</summary>
    public int InUse { get; private set; }

    public bool IsInUse(int asid) => (uint)asid <= (uint)Capacity && (_used[asid >> 6] & (1UL << asid)) != 0;

    /// <summary>Takes the next free ASID; false when all are in use.</summary>
    public bool TryAllocate(out ushort asid)
    {
        asid = 0;
        if (InUse == Capacity)
            return false;
        int found = FindFree(_last + 1, Capacity);
        if (found < 0)
            found = FindFree(1, _last);
        Debug.Assert(found > 0);
        _used[found >> 6] |= 1UL << found;
        _last = found;
        InUse++;
        asid = (ushort)found;
        return true;
    }

    public void Free(ushort asid)
    {
        Debug.Assert(IsInUse(asid) && asid != 0);
        _used[asid >> 6] &= ~(1UL << asid);
        InUse--;
    }

    /// <summary>The lowest free ASID in [from, to], or -1.</summary>
    private int FindFree(int from, int to)
    {
        for (int word = from >> 6; word <= to >> 6 && from <= to; word++)
        {
            ulong free = ~_used[word];
            if (word == from >> 6)
                free &= ~0UL << (from & 63);
            if (free == 0)
                continue;
            int asid = (word << 6) + BitOperations.TrailingZeroCount(free);
            return asid <= to ? asid : -1;
        }
        return -1;
    }
}
