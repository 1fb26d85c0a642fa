using System.Diagnostics;
using Smmu.Bench.Fixtures;

namespace Smmu.Bench.Benchmarks;

/// <summary>
/// <c>monitor-cost [rounds]</c>: the hit path with and without each <see cref="Listener"/>, interleaved in
/// one process — round after round, each listener attached in turn, the hit-path median measured under it —
/// so that a shared machine's drift falls on every case alike. Prints each case's median over the rounds
/// and its ratio to <see cref="Listener.None"/>. Complements <see cref="MonitoringOverheadBenchmarks"/>, whose
/// cases run one after the other in separate processes.
/// </summary>
internal static class MonitorCostCommand
{
    private const int Translations = 4096;
    private const int SamplesPerMeasurement = 300;

    /// <summary>The TLB-hit working set of <see cref="TranslateHitBenchmarks"/> at 1024 x 8.</summary>
    public static (Testbed Testbed, ulong[] Iovas) HitWorkload(int translations)
    {
        var testbed = new Testbed(Layout.Config());
        testbed.MapPages(testbed.Base, 0, 1024);
        testbed.Touch(AccessPattern.Sequential(1024));
        ulong[] iovas = AccessPattern.Random(translations, 1024);
        ulong misses = testbed.Misses;
        testbed.Touch(iovas);
        Check.That(testbed.Misses == misses, "the TLB-hit working set missed");
        return (testbed, iovas);
    }

    public static int Run(int rounds, TextWriter output)
    {
        (Testbed testbed, ulong[] iovas) = HitWorkload(Translations);
        using (testbed)
        {
            Listener[] kinds = Enum.GetValues<Listener>();
            var medians = kinds.ToDictionary(k => k, _ => new List<double>());
            for (int i = 0; i < 2000; i++)
                testbed.TranslateEach(iovas);   // tier-1 JIT before the first measurement
            for (int round = 0; round < rounds; round++)
            {
                foreach (Listener kind in round % 2 == 0 ? kinds : kinds.Reverse())
                {
                    using (new MonitoringListener(kind))
                        medians[kind].Add(MedianNanoseconds(testbed, iovas));
                }
            }
            double baseline = Median(medians[Listener.None]);
            output.WriteLine($"TLB-hit Translate, ns per translation: median of {rounds} rounds, each the median of {SamplesPerMeasurement} x {Translations} translations");
            output.WriteLine("| listener | median ns | vs None |");
            output.WriteLine("|---|---:|---:|");
            foreach (Listener kind in kinds)
            {
                double m = Median(medians[kind]);
                output.WriteLine($"| {kind} | {m:F2} | {(m / baseline - 1) * 100:+0.0;-0.0;0.0} % |");
            }
        }
        return 0;
    }

    private static double MedianNanoseconds(Testbed testbed, ulong[] iovas)
    {
        var samples = new double[SamplesPerMeasurement];
        ulong sink = 0;
        for (int s = 0; s < samples.Length; s++)
        {
            long start = Stopwatch.GetTimestamp();
            sink += testbed.TranslateEach(iovas);
            samples[s] = Stopwatch.GetElapsedTime(start).TotalNanoseconds / iovas.Length;
        }
        Check.That(sink != 0, "translations returned nothing");
        return Median(samples);
    }

    private static double Median(IReadOnlyList<double> values)
    {
        double[] sorted = [.. values.Order()];
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
