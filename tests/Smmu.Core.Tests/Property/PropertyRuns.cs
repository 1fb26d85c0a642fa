using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using CsCheck;
using Xunit.Abstractions;

namespace Smmu.Core.Tests.Property;

/// <summary>
/// Drives one property run (a row of <see cref="ModelPropertyTests"/> or <see cref="NestedModelPropertyTests"/>):
/// samples from a fixed CsCheck PCG stream (the run's number) so that CI sees the same samples every time
/// and the coverage asserted below is stable, each a fresh instance and a sequence of up to ~700
/// operations, until the run's share of the budget is spent. CsCheck's own <c>Sample</c> draws from a random
/// stream, and is used once a sample fails, to shrink it (see <see cref="Shrinker"/>). A failure prints the
/// minimal sequence and the seed that replays it.
/// <para>Budget: <see cref="DefaultGroupOps"/> operations for the stage-1 rows (all granules, split or
/// not) and as many for the stage-2 rows, shared evenly by each group's rows.</para>
/// <para>Environment: <c>SMMU_PROPERTY_OPS</c> — operations over all runs of both groups (at least the
/// default 2 × 120 000), e.g. <c>SMMU_PROPERTY_OPS=5000000</c> for a soak. <c>SMMU_PROPERTY_SEED</c> — a
/// number: the first sample of every run's stream (default <see cref="DefaultSeed"/>); <c>run:seed</c> as a
/// failure prints it: replay that sample in that run only. <c>SMMU_PROPERTY_SHRINK_SECONDS</c> — how long
/// CsCheck searches for a smaller failing sample (default 10; 0 only drops operations).</para>
/// </summary>
internal static class PropertyRuns
{
    /// <summary>Operations per group of runs (stage 1; stage 2) in CI.</summary>
    public const int DefaultGroupOps = 120_000;
    private const long DefaultSeed = 0x5EED;
    private const int DefaultShrinkSeconds = 10;

    public static void Execute(RunProfile profile, int runsInGroup, ITestOutputHelper output)
    {
        Gen<Op[]> gen = OperationGenerators.Sequence(profile);
        string? seedVariable = Environment.GetEnvironmentVariable("SMMU_PROPERTY_SEED");
        if (seedVariable != null && seedVariable.Contains(':'))
        {
            Replay(profile, gen, seedVariable, output);
            return;
        }

        long groupOps = Math.Max(DefaultGroupOps, (EnvLong("SMMU_PROPERTY_OPS") ?? 0) / 2);
        long share = (groupOps + runsInGroup - 1) / runsInGroup;
        long baseSeed = EnvLong("SMMU_PROPERTY_SEED") ?? DefaultSeed;
        var pcg = new PCG((uint)profile.Run, (ulong)baseSeed);
        output.WriteLine($"{profile}");
        output.WriteLine($"  CsCheck stream {profile.Run}, seed {baseSeed} (SMMU_PROPERTY_SEED={baseSeed}); {share} operations");

        var coverage = new Coverage();
        long ops = 0, samples = 0;
        ulong hits = 0, misses = 0, invalidated = 0;
        var clock = Stopwatch.StartNew();
        while (ops < share)
        {
            string sampleSeed = pcg.ToString();
            Op[] sequence = gen.Generate(pcg, null, out _);
            using (var runner = new PropertyRunner(profile))
            {
                try
                {
                    runner.Run(sequence);
                }
                catch (Exception e)
                {
                    Fail(profile, gen, sampleSeed, EnvLong("SMMU_PROPERTY_SHRINK_SECONDS") ?? DefaultShrinkSeconds,
                         $"sample {samples} of the run (seed {sampleSeed}, {sequence.Length} operations, after {ops} operations of earlier samples): {e.Message}");
                }
                coverage.Add(runner.Coverage);
                SmmuStats stats = runner.Stats;
                (hits, misses, invalidated) = (hits + stats.TlbHits, misses + stats.TlbMisses, invalidated + stats.TlbEntriesInvalidated);
            }
            ops += sequence.Length;
            samples++;
        }

        output.WriteLine($"  {ops} operations in {samples} samples, {clock.Elapsed.TotalSeconds:F1} s");
        foreach (var (what, count) in coverage.Sorted())
            output.WriteLine($"  {what,-96} {count,8}");
        output.WriteLine($"  TLB hits {hits}, misses {misses}, entries invalidated {invalidated}");
        AssertCoverage(profile, coverage, ops, hits, misses);
    }

    /// <summary>The run must have gone everywhere it is meant to, or agreeing proves little.</summary>
    private static void AssertCoverage(RunProfile profile, Coverage coverage, long ops, ulong hits, ulong misses)
    {
        ReferenceGeometry geometry = profile.Geometry;
        var needed = new List<string>
        {
            "map ok", "map exists", "map invalid", "map range", "map ok global",
            "unmap some", "unmap nothing", "unmap split a block", "unmap range", "unmap invalid",
            "translate ok", "translate invalid argument", "translate in neither half",
            "translate fault Permission at level 3", "translate ok through a global leaf",
            "translate accepted: a global entry cached from earlier tables",
            "batch ok", "batch stopped", "batch item fault Translation at level 3", "batch item fault Permission at level 3",
            "iova_to_phys ok", "iova_to_phys no entry", "iova_to_phys range",
            "switch ok", "switch to detached", "detach", "detach active (bank back to base)", "detach while detached",
            "re-attach", "attach while attached", "recycle", "recycle a domain with global leaves",
            "invalidate All", "invalidate Asid", "invalidate AsidVa", "invalidate VaAll", "invalidate invalid", "audit",
        };
        for (int level = geometry.FirstBlockLevel; level < ReferenceGeometry.LeafLevel; level++)
            needed.Add($"map ok with a {Format.Bytes(geometry.LevelSize(level))} block");
        for (int level = geometry.StartLevel((int)profile.Ias); level <= ReferenceGeometry.LeafLevel; level++)
            needed.Add($"translate fault Translation at level {level}");
        if (geometry.PageShift > 12)
            needed.AddRange(["map not aligned to the granule", "unmap not aligned to the granule"]);
        if (profile.Split)
        {
            needed.AddRange(["map outside the TTBR1 half", "unmap outside the TTBR1 half", "translate ok in the TTBR1 half",
                             "translate ok in the TTBR1 half under a process's ASID", "translate lower half while TTBR0 is disabled (EPD0)"]);
        }
        else
        {
            needed.Add("translate upper half without TTBR1 (EPD1)");
        }
        if (profile.Fillers > 0)
            needed.Add(profile.Churn >= 100 ? "re-attach with another domain's old ASID" : "re-attach with an old ASID");
        if (profile.TlbEntries <= 64)
            needed.Add("translate evicted a TLB entry");
        if (profile.Stage2)
        {
            needed.AddRange([
                "s2 map ok", "s2 map invalid", "s2 map exists", "s2 unmap some", "s2 iova_to_phys ok",
                "pool unmap some", "pool map ok", "pool map of every hole",
                "translate ipa ok", "batch ipa ok", "invalidate Vmid", "invalidate Ipa",
            ]);
            foreach (var (what, found) in new (string, Func<string, bool>)[]
                     {
                         ("a stage-2 translation fault on a table fetch", k => k.StartsWith("translate fault stage 2 Translation", StringComparison.Ordinal) && k.EndsWith("(S1PTW)", StringComparison.Ordinal)),
                         ("a stage-2 permission fault on a table fetch", k => k.StartsWith("translate fault stage 2 Permission", StringComparison.Ordinal) && k.EndsWith("(S1PTW)", StringComparison.Ordinal)),
                         ("a stage-2 translation fault on the output", k => k.StartsWith("translate fault stage 2 Translation", StringComparison.Ordinal) && !k.EndsWith("(S1PTW)", StringComparison.Ordinal)),
                         ("a stage-2 permission fault on the output", k => k.StartsWith("translate fault stage 2 Permission", StringComparison.Ordinal) && !k.EndsWith("(S1PTW)", StringComparison.Ordinal)),
                         ("a stage-2 translation fault alone", k => k.StartsWith("translate ipa fault stage 2 Translation", StringComparison.Ordinal)),
                         ("a stage-2 permission fault alone", k => k.StartsWith("translate ipa fault stage 2 Permission", StringComparison.Ordinal)),
                     })
            {
                Assert.True(coverage.Keys.Any(found), $"the run never met {what}");
            }
        }
        foreach (string what in needed)
            Assert.True(coverage[what] > 0, $"the run never did '{what}'");
        Assert.True(hits > (ulong)ops / 20, $"too few TLB hits: {hits}");
        Assert.True(misses > (ulong)ops / 20, $"too few TLB misses: {misses}");
    }

    /// <summary>Shrinks the failing sample and fails the test with the minimal sequence, how to replay it, and how it was found.</summary>
    [DoesNotReturn]
    private static void Fail(RunProfile profile, Gen<Op[]> gen, string seed, long shrinkSeconds, string found)
    {
        Shrinker.Result? result = Shrinker.Shrink(profile, gen, seed, (int)shrinkSeconds);
        if (result is null)
            Assert.Fail($"{profile}: sample {seed} failed once and then passed: the failure depends on more than the operations");
        Assert.Fail(
            $"{profile}: the model disagrees with the reference.\n"
            + $"{result.Failure.Message}\n"
            + $"Minimal sequence, {result.Minimal.Length} operations (each one needed: without it the failure goes away):"
            + Shrinker.Print(result.Minimal) + "\n"
            + $"Replay: SMMU_PROPERTY_SEED={profile.Run}:{result.Seed} dotnet test tests/Smmu.Core.Tests -c Release --filter FullyQualifiedName~ModelPropertyTests\n"
            + $"How it was found: {found}\n"
            + $"{result.CsCheckReport}\n"
            + $"Dropping operations from that sample ({result.Sample.Length}) left the {result.Minimal.Length} above.");
    }

    /// <summary><c>SMMU_PROPERTY_SEED=run:seed</c>: that one sample, in that run only, shrunk only by dropping operations unless asked.</summary>
    private static void Replay(RunProfile profile, Gen<Op[]> gen, string variable, ITestOutputHelper output)
    {
        string[] parts = variable.Split(':', 2);
        if (int.Parse(parts[0], CultureInfo.InvariantCulture) != profile.Run)
        {
            output.WriteLine($"{profile}: not replayed (SMMU_PROPERTY_SEED={variable} names run {parts[0]})");
            return;
        }
        Op[] sequence = gen.Generate(PCG.Parse(parts[1]), null, out _);
        output.WriteLine($"{profile}: replaying {parts[1]}, {sequence.Length} operations:{Shrinker.Print(sequence)}");
        if (PropertyRunner.Passes(profile, sequence, out _))
        {
            output.WriteLine("  it passes");
            return;
        }
        Fail(profile, gen, parts[1], EnvLong("SMMU_PROPERTY_SHRINK_SECONDS") ?? 0, $"replaying seed {parts[1]}");
    }

    private static long? EnvLong(string name) =>
        long.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out long value)
            ? value : null;
}
