using Smmu.Bench.Fixtures;

namespace Smmu.Bench.Seed;

/// <summary>
/// <c>seed</c>: the seed scenario told step by step, ASID tagging against flush-on-switch, then the two
/// translation regimes built on it: the upstream Adreno split (TTBR1 globals + per-process TTBR0) and a
/// VM running the seed under stage 2. Each part runs even when an earlier one failed.
/// </summary>
internal static class SeedCommand
{
    /// <summary>Exit code: 0, or 1 when any translated PA was wrong or any step or check failed.</summary>
    public static int Run(TextWriter output)
    {
        int failed = 0;
        failed += Part(output, "The seed scenario (docs/design.md, \"What is modelled\")", () => SeedScenario.Run(output));
        output.WriteLine();
        failed += Part(output, "Switching processes: ASID-tagged vs NoAsidTagging",
                       () => JitWarmup.Run(TimeSpan.FromSeconds(1)) + AsidTaggingComparison.Run(output));
        output.WriteLine();
        failed += Part(output, "Split tables, the upstream Adreno layout: TTBR1 global buffers + per-process dynamic domains",
                       () => Checked(() => AdrenoSplitScenario.Run(output)));
        output.WriteLine();
        failed += Part(output, "Stage 2: a VM whose GPU driver runs the seed's dynamic domains (nested)",
                       () => Checked(() => NestedVmScenario.Run(output)));
        if (failed == 0)
            return 0;
        output.WriteLine();
        output.WriteLine($"FAILED: {failed} of 4 parts");
        return 1;
    }

    /// <summary>Prints the title, runs a part that returns its PA mismatches; 1 if it had any or threw a check, else 0.</summary>
    private static int Part(TextWriter output, string title, Func<long> run)
    {
        output.WriteLine($"== {title} ==");
        try
        {
            long mismatches = run();
            if (mismatches == 0)
                return 0;
            output.WriteLine($"FAILED: {mismatches} translated PAs did not match their domain's mapping");
        }
        catch (InvalidOperationException e)
        {
            output.WriteLine($"FAILED: {e.Message}");
        }
        return 1;
    }

    /// <summary>A part whose checks throw (<see cref="Check"/>): no mismatch count of its own.</summary>
    private static long Checked(Action run)
    {
        run();
        return 0;
    }
}
