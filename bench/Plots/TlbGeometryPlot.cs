using Smmu.Bench.Fixtures;
using Smmu.Core;

namespace Smmu.Bench.Plots;

/// <summary>
/// (c) ns per translation against TLB entries (8 ways) and against ways (1024 entries), ASID-tagged vs
/// flush, for a fixed workload: 8 dynamic domains of 128 pages at the same IOVAs, a switch every 1000
/// translations. The working sets total 1024 pages.
/// </summary>
internal static class TlbGeometryPlot
{
    private const int Domains = 8;
    private const int Pages = 128;
    private const int SwitchEvery = 1000;
    private const int Switches = 1024;

    public static void Draw(string directory, TextWriter output)
    {
        int[] entries = Enumerable.Range(7, 8).Select(i => 1 << i).ToArray();   // 128 .. 16384
        int[] ways = Enumerable.Range(0, 7).Select(i => 1 << i).ToArray();      // 1 .. 64
        Sweep(directory, output, "tlb-entries", "TLB entries (8 ways, log scale)", entries, e => ((uint)e, 8u));
        Sweep(directory, output, "tlb-ways", "TLB ways (1024 entries, log scale)", ways, w => (1024u, (uint)w));
    }

    private static void Sweep(string directory, TextWriter output, string name, string xLabel, int[] points, Func<int, (uint Entries, uint Ways)> geometry)
    {
        SwitchMeasurement[] tagged = SwitchMeasurement.Sweep(points.Length, p => MeasureOnce(geometry(points[p]), SmmuConfigFlags.None));
        SwitchMeasurement[] flush = SwitchMeasurement.Sweep(points.Length, p => MeasureOnce(geometry(points[p]), SmmuConfigFlags.NoAsidTagging));
        for (int p = 0; p < points.Length; p++)
        {
            (uint e, uint w) = geometry(points[p]);
            output.WriteLine($"  {e,5}x{w,-2}: tagged {tagged[p].NsPerTranslation,5:F1} ns ({tagged[p].MissesPerSwitch,5:F1} misses/switch), " +
                             $"flush {flush[p].NsPerTranslation,5:F1} ns ({flush[p].MissesPerSwitch,5:F1} misses/switch)");
        }
        double[] xs = points.Select(x => (double)x).ToArray();
        Csv.Write(Path.Combine(directory, name + ".csv"), "x,tagged_ns,flush_ns,tagged_misses_per_switch,flush_misses_per_switch",
                  points.Select((x, i) => new double[] { x, tagged[i].NsPerTranslation, flush[i].NsPerTranslation, tagged[i].MissesPerSwitch, flush[i].MissesPerSwitch }));
        Chart.SaveLogX(Path.Combine(directory, name + ".png"),
                       $"Translation cost vs {xLabel.Split(' ')[1]}: {Domains} dynamic domains x {Pages} pages, a switch every {SwitchEvery} translations",
                       xLabel, $"ns per translation, switch included (best of {SwitchMeasurement.Rounds})",
                       [new Series("ASID-tagged", xs, tagged.Select(r => r.NsPerTranslation).ToArray()),
                        new Series("NoAsidTagging (flush on switch)", xs, flush.Select(r => r.NsPerTranslation).ToArray())],
                       xs);
    }

    /// <summary>A fresh SMMU of that geometry (cheap: 8 small domains), one timed run.</summary>
    private static SwitchMeasurement MeasureOnce((uint Entries, uint Ways) geometry, SmmuConfigFlags flags)
    {
        using var workload = new DomainSwitchWorkload(Layout.Config(geometry.Entries, geometry.Ways, flags), Domains, Pages, SwitchEvery);
        return SwitchMeasurement.Once(workload, Domains, Switches);
    }
}
