using System.Runtime.CompilerServices;

namespace Smmu.Core.Translation;

/// <summary>
/// The stale-TLB sanitizer's hold on the TLB (<see cref="SmmuConfigFlags.SanitizeTlb"/>): when an unmap's
/// invalidation is deferred to a sync, the entries that sync will remove are <i>watched</i>. A watched
/// entry keeps its tag, ASID and output — it still translates, as on hardware — but its info byte is
/// parked here and replaced by 0 (no rights), so the hit loops' one-AND rights check fails and the hit
/// takes the slow path, where the sanitizer compares it with a fresh walk (<see cref="Maintenance.Sanitizer"/>).
/// An entry stays watched until an invalidation removes it or a fill reuses its way: agreeing with the
/// tables at one address says nothing of another (a block split by a partial unmap). Nothing is added to a
/// hit that is not watched, and without the sanitizer nothing exists here at all.
/// </summary>
internal sealed unsafe partial class Tlb
{
    private bool[]? _watched;       // per entry, with the sanitizer on
    private byte[]? _parkedInfo;    // a watched entry's real info byte

    /// <summary>Turns watching on (the instance has the sanitizer).</summary>
    public void EnableWatching()
    {
        _watched = new bool[Entries];
        _parkedInfo = new byte[Entries];
    }

    /// <summary>True when <paramref name="entry"/> is watched: a pending invalidation would remove it.</summary>
    public bool IsWatched(int entry) => _watched is { } watched && watched[entry];

    /// <summary>A watched entry's real rights and level (what it grants the device, stale or not).</summary>
    public AccessRights WatchedRights(int entry) => (AccessRights)(_parkedInfo![entry] & TlbLayout.RightsMask);

    /// <summary>The level of a watched entry's leaf.</summary>
    public int WatchedLevel(int entry) => _parkedInfo![entry] >> TlbLayout.LevelShift;

    /// <summary>Watches a valid way (see <see cref="WatchWays"/>); false when it already was watched.</summary>
    internal bool WatchWay(nint entry)
    {
        if (_watched is not { } watched || watched[entry])
            return false;
        watched[entry] = true;
        _parkedInfo![entry] = _info[entry];
        _info[entry] = 0;
        return true;
    }

    /// <summary>A fill takes the way over: whatever was watched there is gone.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ForgetWatch(nint entry)
    {
        if (_watched is { } watched)
            watched[entry] = false;
    }
}
