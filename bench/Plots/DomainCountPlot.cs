using Smmu.Bench.Fixtures;
using Smmu.Core;

namespace Smmu.Bench.Plots;

/// <summary>
/// (b) ns per translation against the number of dynamic domains (2 to 4096), ASID-tagged vs flush on
/// switch, a switch every K translations. With 128 pages per domain at the same IOVAs, 8 domains fill
/// a 1024-entry TLB. A third series gives each domain only 16 pages: the TLB salts each ASID's set
/// index, so domains that share IOVAs spread over the sets and up to 32 stay warm (64 x 16 pages is
/// the whole TLB); without the salt they would compete for the same 8 ways and only 8 would. The CSV
/// also has the misses per switch.
/// </summary>
internal static class DomainCountPlot
{
    private const int MaxDomains = 4096;
    private const int SwitchEvery = 1000;
    private const int Pages = 128;
    private const int SmallPages = 16;
    private const int MinSwitches = 1024;

    public static void Draw(string directory, TextWriter output)
    {
        int[] counts = Enumerable.Range(1, 12).Select(i => 1 << i).ToArray();
        var columns = new (string Name, SmmuConfigFlags Flags, int Pages)[]
        {
            ($"ASID-tagged, {Pages} pages/domain", SmmuConfigFlags.None, Pages),
            ($"NoAsidTagging (flush on switch), {Pages} pages/domain", SmmuConfigFlags.NoAsidTagging, Pages),
            ($"ASID-tagged, {SmallPages} pages/domain (ASID-salted sets: up to 32 domains stay warm)", SmmuConfigFlags.None, SmallPages),
        };
        var results = new SwitchMeasurement[columns.Length][];
        for (int c = 0; c < columns.Length; c++)
        {
            using var workload = new DomainSwitchWorkload(Layout.Config(flags: columns[c].Flags), MaxDomains, columns[c].Pages, SwitchEvery);
            results[c] = SwitchMeasurement.Sweep(counts.Length, i => SwitchMeasurement.Once(workload, counts[i], Math.Max(counts[i], MinSwitches)));
            output.WriteLine($"  {columns[c].Name}: " + string.Join(", ", counts.Select((n, i) => $"{n}: {results[c][i].NsPerTranslation:F1} ns")));
        }

        double[] xs = counts.Select(n => (double)n).ToArray();
        Csv.Write(Path.Combine(directory, "domains.csv"),
                  "domains,tagged_ns,flush_ns,tagged_small_ns,tagged_misses_per_switch,flush_misses_per_switch,tagged_small_misses_per_switch",
                  counts.Select((n, i) => new double[]
                  {
                      n, results[0][i].NsPerTranslation, results[1][i].NsPerTranslation, results[2][i].NsPerTranslation,
                      results[0][i].MissesPerSwitch, results[1][i].MissesPerSwitch, results[2][i].MissesPerSwitch,
                  }));
        Chart.SaveLogX(Path.Combine(directory, "domains.png"),
                       $"Translation cost vs dynamic domains, a switch every {SwitchEvery} translations (1024-entry 8-way TLB)",
                       "dynamic domains in rotation (log scale)", $"ns per translation, switch included (best of {SwitchMeasurement.Rounds})",
                       columns.Select((col, c) => new Series(col.Name, xs, results[c].Select(r => r.NsPerTranslation).ToArray())).ToArray(),
                       xs, (8, "8 x 128 pages = 1024 entries"));
    }
}
