using System.Diagnostics;

namespace Smmu.Bench.Fixtures;

/// <summary>
/// The plain Stopwatch harness of the seed demo and the plots: no BenchmarkDotNet (too slow for a
/// sweep of dozens of points), so a run is repeated after the caller's warm-up and the median taken
/// (the seed demo), or each run is kept and the caller takes the best (the plots, see SwitchMeasurement.Sweep).
/// </summary>
internal static class Timing
{
    /// <summary>Runs <paramref name="run"/> <paramref name="repetitions"/> times; the median wall time in seconds.</summary>
    public static double MedianSeconds(int repetitions, Action run)
    {
        var seconds = new double[repetitions];
        for (int i = 0; i < seconds.Length; i++)
            seconds[i] = Seconds(run);
        Array.Sort(seconds);
        return seconds[seconds.Length / 2];
    }

    /// <summary>Runs <paramref name="run"/> once; its wall time in seconds.</summary>
    public static double Seconds(Action run)
    {
        long start = Stopwatch.GetTimestamp();
        run();
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }
}
