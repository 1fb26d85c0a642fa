using System.Diagnostics;
using Smmu.Core;

namespace Smmu.Bench.Fixtures;

/// <summary>
/// Warm-up for the Stopwatch harness (BenchmarkDotNet does its own). With tiered compilation a method
/// runs unoptimized until it has been called a few dozen times after a quiet period, and loops are
/// patched over only at their back edges: without this, the first sweep points that take the miss path
/// (walk, fill, eviction) or a flush-on-switch are timed on tier-0 code and come out 2-4x too slow.
/// Every path the harness times runs here for a while, in both switch modes.
/// </summary>
internal static class JitWarmup
{
    /// <summary>Runs the paths for <paramref name="duration"/>; returns how many translated PAs were wrong (verified passes run too).</summary>
    public static long Run(TimeSpan duration)
    {
        using var tagged = new DomainSwitchWorkload(Layout.Config(), 16, 128, 1000);
        using var flush = new DomainSwitchWorkload(Layout.Config(flags: SmmuConfigFlags.NoAsidTagging), 16, 128, 1000);
        using var walks = new Testbed(Layout.Config());
        const int Pages = 16384;
        walks.MapPages(walks.Base, 0, Pages);
        ulong[] iovas = AccessPattern.Random(4096, Pages);
        var pas = new ulong[iovas.Length];

        long mismatches = 0;
        long start = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(start) < duration)
        {
            tagged.Run(16, 16);
            flush.Run(16, 16);
            mismatches += tagged.RunVerified(4, 16) + flush.RunVerified(4, 16);
            Check.Ok(walks.Smmu.TranslateBatch(Layout.StreamId, iovas, pas, SmmuAccess.Read, out _), "translate batch");
            foreach (ulong iova in iovas)
                walks.Smmu.Translate(Layout.StreamId, iova, SmmuAccess.Read, out _);
        }
        return mismatches;
    }
}
