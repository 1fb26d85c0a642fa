using Smmu.Bench.Fixtures;
using Smmu.Core;

namespace Smmu.Bench.Plots;

/// <summary>
/// (a) ns per translation against the working set, from a sixteenth of the TLB to 100x it: one
/// ASID-tagged domain, random reads over W pages, TranslateBatch (4096 per call) and single Translate;
/// and two dynamic domains of W pages each, switching every 1000 translations, ASID-tagged vs flush on
/// switch (tagging pays nothing while both working sets fit the TLB; flushing pays W misses a switch).
/// Like the switching sweeps, every size is measured once per round and keeps its best run.
/// </summary>
internal static class WorkingSetPlot
{
    private const int TlbEntries = 1024;
    private const int MaxPages = 100 * TlbEntries;
    private const int Translations = 1 << 16;
    private const int BatchSize = 4096;
    private const int SwitchingDomains = 2;
    private const int SwitchEvery = 1000;
    private const int Switches = 64;

    public static void Draw(string directory, TextWriter output)
    {
        using var testbed = new Testbed(Layout.Config(TlbEntries));
        SmmuInstance smmu = testbed.Smmu;
        testbed.MapPages(testbed.Base, 0, MaxPages);
        int[] sizes = Sizes();
        ulong[][] patterns = sizes.Select(size => AccessPattern.Random(Translations, size, seed: size)).ToArray();
        var pas = new ulong[Translations];
        var batchNs = Enumerable.Repeat(double.MaxValue, sizes.Length).ToArray();
        var singleNs = Enumerable.Repeat(double.MaxValue, sizes.Length).ToArray();
        var missRate = new double[sizes.Length];

        for (int round = 0; round < SwitchMeasurement.Rounds; round++)
        {
            for (int p = 0; p < sizes.Length; p++)
            {
                ulong[] iovas = patterns[p];
                testbed.Touch(iovas);   // the TLB as this working set leaves it
                SmmuStats before = smmu.Stats;
                double batch = Timing.Seconds(() =>
                {
                    for (int start = 0; start < Translations; start += BatchSize)
                        Check.Ok(smmu.TranslateBatch(Layout.StreamId, iovas.AsSpan(start, BatchSize), pas.AsSpan(start, BatchSize), SmmuAccess.Read, out _), "translate batch");
                });
                missRate[p] = (double)(smmu.Stats.TlbMisses - before.TlbMisses) / Translations;
                if (round == 0)
                {
                    for (int i = 0; i < iovas.Length; i++)
                        Check.That(pas[i] == Layout.ExpectedPa(0, iovas[i]), "a translated PA did not match the mapping");
                }
                double single = Timing.Seconds(() =>
                {
                    foreach (ulong iova in iovas)
                        smmu.Translate(Layout.StreamId, iova, SmmuAccess.Read, out _);
                });
                batchNs[p] = Math.Min(batchNs[p], batch * 1e9 / Translations);
                singleNs[p] = Math.Min(singleNs[p], single * 1e9 / Translations);
            }
        }
        SwitchMeasurement[] tagged = Switching(sizes, SmmuConfigFlags.None);
        SwitchMeasurement[] flush = Switching(sizes, SmmuConfigFlags.NoAsidTagging);
        for (int p = 0; p < sizes.Length; p++)
            output.WriteLine($"  working set {sizes[p],7:N0} pages: batch {batchNs[p],6:F1} ns, single {singleNs[p],6:F1} ns, {missRate[p]:P1} misses;"
                             + $" 2 domains switching: tagged {tagged[p].NsPerTranslation,5:F1} ns, flush {flush[p].NsPerTranslation,5:F1} ns");

        double[] xs = sizes.Select(s => (double)s).ToArray();
        Csv.Write(Path.Combine(directory, "working-set.csv"),
                  "pages,kib,batch_ns_per_translation,single_ns_per_translation,misses_per_translation,switching_tagged_ns,switching_flush_ns,switching_tagged_misses_per_switch,switching_flush_misses_per_switch",
                  sizes.Select((s, i) => new double[]
                  {
                      s, s * 4, batchNs[i], singleNs[i], missRate[i],
                      tagged[i].NsPerTranslation, flush[i].NsPerTranslation, tagged[i].MissesPerSwitch, flush[i].MissesPerSwitch,
                  }));
        Chart.SaveLogX(Path.Combine(directory, "working-set.png"),
                       $"Translation cost vs working set W ({TlbEntries}-entry 8-way TLB, random 4 KiB reads)",
                       "working set (4 KiB pages, log scale)", $"ns per translation (best of {SwitchMeasurement.Rounds})",
                       [
                           new Series("1 domain, TranslateBatch of 4096", xs, batchNs),
                           new Series("1 domain, Translate one at a time", xs, singleNs),
                           new Series($"{SwitchingDomains} domains of W pages, batches, a switch every {SwitchEvery}: ASID-tagged", xs, tagged.Select(m => m.NsPerTranslation).ToArray()),
                           new Series($"{SwitchingDomains} domains of W pages, batches, a switch every {SwitchEvery}: flush on switch", xs, flush.Select(m => m.NsPerTranslation).ToArray()),
                       ],
                       [64, 256, 1024, 4096, 16384, 65536], (TlbEntries, $"TLB capacity: {TlbEntries} entries"));
    }

    /// <summary>Two dynamic domains of each size switching in turn, one workload per size, built once.</summary>
    private static SwitchMeasurement[] Switching(int[] sizes, SmmuConfigFlags flags)
    {
        var workloads = new DomainSwitchWorkload?[sizes.Length];
        try
        {
            return SwitchMeasurement.Sweep(sizes.Length, p =>
            {
                workloads[p] ??= new DomainSwitchWorkload(Layout.Config(TlbEntries, flags: flags), SwitchingDomains, sizes[p], SwitchEvery);
                return SwitchMeasurement.Once(workloads[p]!, SwitchingDomains, Switches);
            });
        }
        finally
        {
            foreach (DomainSwitchWorkload? workload in workloads)
                workload?.Dispose();
        }
    }

    /// <summary>64 pages to 100x the TLB, two points per doubling.</summary>
    private static int[] Sizes()
    {
        var sizes = new List<int>();
        for (double s = 64; s < MaxPages; s *= Math.Sqrt(2))
            sizes.Add((int)Math.Round(s));
        sizes.Add(MaxPages);
        return [.. sizes];
    }
}
