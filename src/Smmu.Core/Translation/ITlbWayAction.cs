using System.Numerics;
using System.Runtime.CompilerServices;

namespace Smmu.Core.Translation;

/// <summary>
/// What a TLB maintenance operation does to the ways it matches: empty them (an invalidation), or — for
/// the stale-TLB sanitizer, when the invalidation is deferred to a later sync — mark them as watched. The
/// matching is the same code either way (Tlb.Invalidate), specialized per action like the kernels.
/// </summary>
internal unsafe interface ITlbWayAction
{
    /// <summary>Acts on the ways set in <paramref name="ways"/> of the group starting at <paramref name="firstEntry"/>; returns how many it changed.</summary>
    static abstract int Apply(Tlb tlb, nint firstEntry, uint ways);
}

/// <summary>Empties the ways: the invalidation itself.</summary>
internal readonly struct EmptyWays : ITlbWayAction
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Apply(Tlb tlb, nint firstEntry, uint ways)
    {
        int removed = BitOperations.PopCount(ways);
        for (; ways != 0; ways &= ways - 1)
            tlb.EmptyWay(firstEntry + BitOperations.TrailingZeroCount(ways));
        return removed;
    }
}

/// <summary>Marks the ways as possibly stale for the sanitizer (the invalidation that would remove them is pending).</summary>
internal readonly struct WatchWays : ITlbWayAction
{
    public static int Apply(Tlb tlb, nint firstEntry, uint ways)
    {
        int watched = 0;
        for (; ways != 0; ways &= ways - 1)
            watched += tlb.WatchWay(firstEntry + BitOperations.TrailingZeroCount(ways)) ? 1 : 0;
        return watched;
    }
}
