using Smmu.Bench.Fixtures;

namespace Smmu.Bench.Seed;

/// <summary><c>seed</c>: the seed scenario told step by step, then ASID tagging against flush-on-switch.</summary>
internal static class SeedCommand
{
    /// <summary>Exit code: 0, or 1 when any translated PA was wrong or a step failed.</summary>
    public static int Run(TextWriter output)
    {
        try
        {
            output.WriteLine("== The seed scenario (docs/design.md, \"What is modelled\") ==");
            long mismatches = SeedScenario.Run(output);
            output.WriteLine();
            output.WriteLine("== Switching processes: ASID-tagged vs NoAsidTagging ==");
            mismatches += JitWarmup.Run(TimeSpan.FromSeconds(1));
            mismatches += AsidTaggingComparison.Run(output);
            if (mismatches == 0)
                return 0;
            output.WriteLine($"FAILED: {mismatches} translated PAs did not match their domain's mapping");
            return 1;
        }
        catch (InvalidOperationException e)
        {
            output.WriteLine($"FAILED: {e.Message}");
            return 1;
        }
    }
}
