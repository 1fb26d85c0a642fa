using Smmu.Bench.Fixtures;
using Smmu.Core;

namespace Smmu.Bench.Seed;

/// <summary>
/// The point of the seed, in numbers: the same GPU-like workload with ASID-tagged switching and with
/// <see cref="SmmuConfigFlags.NoAsidTagging"/> (every switch invalidates the outgoing ASID, as the
/// shipping kgsl driver does), side by side.
/// </summary>
internal static class AsidTaggingComparison
{
    private const int Domains = 8;
    private const int PagesPerDomain = 64;
    private const int SwitchEvery = 1000;
    private const int TimedSwitches = 2000;
    private const int Repetitions = 5;

    private readonly record struct Result(double MissesPerSwitch, ulong TotalMisses, ulong Translations, double MTranslationsPerSecond, long Mismatches);

    /// <summary>Runs both modes and prints the table; returns the PA mismatches.</summary>
    public static long Run(TextWriter output)
    {
        Result tagged = Measure(SmmuConfigFlags.None);
        Result flush = Measure(SmmuConfigFlags.NoAsidTagging);

        output.WriteLine($"Base + {Domains} dynamic domains, {PagesPerDomain} pages each at the same IOVAs, a switch every " +
                         $"{SwitchEvery} translations (TranslateBatch),");
        output.WriteLine($"1024-entry 8-way TLB. Stopwatch, median of {Repetitions} runs of {TimedSwitches} switches after warm-up " +
                         "(a quick look; BenchmarkDotNet: SeedWorkloadBenchmarks).");
        output.WriteLine();
        output.WriteLine($"  {"",-28}{"ASID-tagged",14}{"NoAsidTagging",16}{"ratio",10}");
        output.WriteLine($"  {"TLB misses per switch",-28}{tagged.MissesPerSwitch,14:F2}{flush.MissesPerSwitch,16:F2}{"",10}");
        output.WriteLine($"  {"TLB misses, all runs",-28}{tagged.TotalMisses,14:N0}{flush.TotalMisses,16:N0}{"",10}");
        output.WriteLine($"  {"translations, all runs",-28}{tagged.Translations,14:N0}{flush.Translations,16:N0}{"",10}");
        output.WriteLine($"  {"M translations/s (median)",-28}{tagged.MTranslationsPerSecond,14:F1}{flush.MTranslationsPerSecond,16:F1}" +
                         $"{tagged.MTranslationsPerSecond / flush.MTranslationsPerSecond,9:F1}x");
        output.WriteLine($"  {"ns per translation",-28}{1e3 / tagged.MTranslationsPerSecond,14:F2}{1e3 / flush.MTranslationsPerSecond,16:F2}{"",10}");
        long mismatches = tagged.Mismatches + flush.Mismatches;
        output.WriteLine();
        output.WriteLine("  A miss here walks tables that sit in the host's cache (tens of ns); on hardware a walk is several");
        output.WriteLine("  memory reads, so the misses per switch carry over, the time ratio is a lower bound.");
        output.WriteLine(mismatches == 0
            ? "  every translated PA in the verified passes matched its domain's mapping"
            : $"  {mismatches} translated PAs did NOT match their domain's mapping");
        return mismatches;
    }

    private static Result Measure(SmmuConfigFlags flags)
    {
        using var workload = new DomainSwitchWorkload(Layout.Config(flags: flags), Domains, PagesPerDomain, SwitchEvery);
        SmmuInstance smmu = workload.Smmu;
        workload.Run(4 * Domains, Domains);   // warm-up: JIT tiers, TLB filled

        // A verified pass in steady state: every PA checked, misses per switch counted.
        SmmuStats before = smmu.Stats;
        long mismatches = workload.RunVerified(8 * Domains, Domains);
        double missesPerSwitch = (double)(smmu.Stats.TlbMisses - before.TlbMisses) / (8 * Domains);

        before = smmu.Stats;
        double seconds = Timing.MedianSeconds(Repetitions, () => workload.Run(TimedSwitches, Domains));
        SmmuStats after = smmu.Stats;
        return new Result(missesPerSwitch, after.TlbMisses - before.TlbMisses, after.Translations - before.Translations,
                          (double)TimedSwitches * SwitchEvery / seconds / 1e6, mismatches);
    }
}
