using Smmu.Bench.Fixtures;
using Smmu.Core;

namespace Smmu.Bench.Plots;

/// <summary>One point of a switching sweep: time per translation and TLB misses per switch.</summary>
internal readonly record struct SwitchMeasurement(double NsPerTranslation, double MissesPerSwitch)
{
    /// <summary>Timed runs per point; the best is kept.</summary>
    public const int Rounds = 7;

    /// <summary>
    /// Warms the first <paramref name="active"/> domains up (two rotations), checks one rotation's PAs,
    /// then times <paramref name="switches"/> switches once.
    /// </summary>
    public static SwitchMeasurement Once(DomainSwitchWorkload workload, int active, int switches)
    {
        workload.Run(2 * active, active);
        Check.That(workload.RunVerified(active, active) == 0, "a translated PA did not match its domain's mapping");
        SmmuStats before = workload.Smmu.Stats;
        double seconds = Timing.Seconds(() => workload.Run(switches, active));
        double misses = workload.Smmu.Stats.TlbMisses - before.TlbMisses;
        return new SwitchMeasurement(seconds * 1e9 / ((double)switches * workload.SwitchEvery), misses / switches);
    }

    /// <summary>
    /// Measures every point once per round for <see cref="Rounds"/> rounds and keeps each point's fastest
    /// run. A point's runs are spread over the whole sweep, so a burst of load on a shared machine rarely
    /// spoils all of them (noise only ever adds time).
    /// </summary>
    public static SwitchMeasurement[] Sweep(int points, Func<int, SwitchMeasurement> measureOnce)
    {
        var best = new SwitchMeasurement[points];
        for (int round = 0; round < Rounds; round++)
        {
            for (int p = 0; p < points; p++)
            {
                SwitchMeasurement m = measureOnce(p);
                best[p] = round == 0 || m.NsPerTranslation < best[p].NsPerTranslation ? m : best[p];
            }
        }
        return best;
    }
}
