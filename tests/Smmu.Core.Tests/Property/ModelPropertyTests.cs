using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using CsCheck;
using Xunit.Abstractions;

namespace Smmu.Core.Tests.Property;

/// <summary>
/// The whole model against a trivially correct reference (<see cref="ReferenceModel"/>: a dictionary of
/// (domain, 4 KiB page) → (PA, prot, leaf level)), over CsCheck-generated operation sequences: maps (pages,
/// 2 MiB and 1 GiB blocks, ranges), unmaps (holes, exact leaves, partial blocks that split), switches
/// between a base and three dynamic domains and to detached ones, detach and attach with ASID reuse,
/// explicit TLB maintenance, translations single and batched with every access kind, iova_to_phys, and
/// audits of the tables page by page. Every result code, output address, unmapped byte count, fault type
/// and level must agree.
/// <para>Each sample is a fresh instance and a sequence of up to ~700 operations. The samples of a run come
/// from a fixed CsCheck PCG stream (the run's number) so that CI sees the same samples every time and the
/// coverage asserted below is stable; CsCheck's own <c>Sample</c> draws from a random stream, and is used
/// once a sample fails, to shrink it (see <see cref="Shrinker"/>). A failure prints the minimal sequence
/// and the seed that replays it.</para>
/// <para>Environment: <c>SMMU_PROPERTY_OPS</c> — operations over all runs (at least the default 120 000),
/// e.g. <c>SMMU_PROPERTY_OPS=5000000</c> for a soak. <c>SMMU_PROPERTY_SEED</c> — a number: the first
/// sample of every run's stream (default <see cref="DefaultSeed"/>); <c>run:seed</c> as a failure prints it:
/// replay that sample in that run only. <c>SMMU_PROPERTY_SHRINK_SECONDS</c> — how long CsCheck searches for
/// a smaller failing sample (default 10; 0 only drops operations).</para>
/// </summary>
public class ModelPropertyTests(ITestOutputHelper output)
{
    private const int DefaultTotalOps = 120_000;
    private const long DefaultSeed = 0x5EED;
    private const int RunCount = 6;   // the InlineData rows below
    private const int DefaultShrinkSeconds = 10;

    /// <summary>
    /// One run per TLB kernel width; small TLBs so that entries get evicted; one run in the flush-on-switch
    /// mode (with ias 39, so walks start at level 1); one with a large TLB, frequent detach and attach
    /// (<paramref name="churn"/>) and a full 8-bit ASID space, so that every attach reuses an ASID whose
    /// previous owner's entries could still be cached. The other 8-bit runs keep a few ASIDs spare.
    /// </summary>
    [Theory]
    [InlineData(0, SimdWidth.Scalar, 64u, 4u, 8u, SmmuConfigFlags.None, 25, 2, 48u)]
    [InlineData(1, SimdWidth.Vector128, 64u, 4u, 16u, SmmuConfigFlags.None, 25, RunProfile.NoFillers, 48u)]
    [InlineData(2, SimdWidth.Vector256, 1024u, 8u, 16u, SmmuConfigFlags.None, 25, RunProfile.NoFillers, 48u)]
    [InlineData(3, SimdWidth.Vector512, 64u, 16u, 8u, SmmuConfigFlags.None, 25, 1, 48u)]
    [InlineData(4, SimdWidth.Vector128, 16u, 16u, 8u, SmmuConfigFlags.NoAsidTagging, 25, 1, 39u)]
    [InlineData(5, SimdWidth.Vector256, 1024u, 8u, 8u, SmmuConfigFlags.None, 200, 0, 48u)]
    public void ModelAgreesWithReference(int run, SimdWidth width, uint tlbEntries, uint tlbWays, uint asidBits,
                                         SmmuConfigFlags flags, int churn, int spareAsids, uint ias)
    {
        var profile = new RunProfile(run, width, tlbEntries, tlbWays, asidBits, flags, churn, spareAsids, ias);
        Gen<Op[]> gen = OperationGenerators.Sequence(profile);
        string? seedVariable = Environment.GetEnvironmentVariable("SMMU_PROPERTY_SEED");
        if (seedVariable != null && seedVariable.Contains(':'))
        {
            Replay(profile, gen, seedVariable);
            return;
        }

        long totalOps = Math.Max(DefaultTotalOps, EnvLong("SMMU_PROPERTY_OPS") ?? 0);
        long share = (totalOps + RunCount - 1) / RunCount;
        long baseSeed = EnvLong("SMMU_PROPERTY_SEED") ?? DefaultSeed;
        var pcg = new PCG((uint)run, (ulong)baseSeed);
        output.WriteLine($"{profile}");
        output.WriteLine($"  CsCheck stream {run}, seed {baseSeed} (SMMU_PROPERTY_SEED={baseSeed}); {share} operations");

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
            output.WriteLine($"  {what,-44} {count,8}");
        output.WriteLine($"  TLB hits {hits}, misses {misses}, entries invalidated {invalidated}");
        AssertCoverage(profile, coverage, ops, hits, misses);
    }

    /// <summary>The run must have gone everywhere it is meant to, or agreeing proves little.</summary>
    private static void AssertCoverage(RunProfile profile, Coverage coverage, long ops, ulong hits, ulong misses)
    {
        var needed = new List<string>
        {
            "map ok", "map exists", "map invalid", "map range", "map ok with a 1G block", "map ok with a 2M block",
            "unmap some", "unmap nothing", "unmap split a block", "unmap range", "unmap invalid",
            "translate ok", "translate beyond ias", "translate invalid argument",
            "translate fault Permission at level 2", "translate fault Permission at level 3",
            "batch ok", "batch stopped", "batch item fault Translation at level 3", "batch item fault Permission at level 3",
            "iova_to_phys ok", "iova_to_phys no entry", "iova_to_phys range",
            "switch ok", "switch to detached", "detach", "detach active (bank back to base)", "detach while detached",
            "re-attach", "attach while attached",
            "invalidate All", "invalidate Asid", "invalidate AsidVa", "invalidate VaAll", "invalidate invalid", "audit",
        };
        int startLevel = ReferenceGeometry.Granule4K.StartLevel((int)profile.Ias);
        for (int level = startLevel; level <= ReferenceGeometry.LeafLevel; level++)
            needed.Add($"translate fault Translation at level {level}");
        if (profile.Fillers > 0)
            needed.Add(profile.Churn >= 100 ? "re-attach with another domain's old ASID" : "re-attach with an old ASID");
        if (profile.TlbEntries <= 64)
            needed.Add("translate evicted a TLB entry");
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
    private void Replay(RunProfile profile, Gen<Op[]> gen, string variable)
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
