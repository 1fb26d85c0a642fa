using System.Text;
using System.Text.RegularExpressions;
using CsCheck;

namespace Smmu.Core.Tests.Property;

/// <summary>
/// Turns a failing sample into the shortest sequence that still fails, in two steps.
/// <list type="number">
/// <item>CsCheck: <c>Sample</c> from the failing seed keeps generating samples for a while and keeps the
/// smallest that fails (CsCheck shrinks by searching: a shorter sequence is always smaller, then simpler
/// values). Its answer is a seed, which replays exactly.</item>
/// <item>Dropping: because every operation replays against any state, any subsequence is a valid
/// sequence; operations (and batch items) are dropped one at a time while the failure stays, until
/// dropping any one of them makes it pass. Random search rarely lands on the exact 4-operation story of
/// a bug; this finishes the job deterministically, so the same seed always prints the same sequence.</item>
/// </list>
/// </summary>
internal static partial class Shrinker
{
    /// <summary>What a shrink found.</summary>
    /// <param name="Seed">The CsCheck seed of the smallest failing sample (replays it exactly).</param>
    /// <param name="Sample">That sample's operations.</param>
    /// <param name="Minimal">The sample with every operation dropped that the failure does not need.</param>
    /// <param name="Failure">How the minimal sequence fails.</param>
    /// <param name="CsCheckReport">What CsCheck printed about its search (its smallest sample and how it fails), or why there was none.</param>
    public sealed record Result(string Seed, Op[] Sample, Op[] Minimal, PropertyFailure Failure, string CsCheckReport);

    /// <summary>
    /// Shrinks the failing sample <paramref name="seed"/> of <paramref name="gen"/>: CsCheck searches for
    /// <paramref name="seconds"/> (none when 0), then operations are dropped. Null when the sample does not
    /// fail again (the failure then depends on more than the operations: a bug in the test).
    /// </summary>
    public static Result? Shrink(RunProfile profile, Gen<Op[]> gen, string seed, int seconds)
    {
        string report = "no CsCheck search (SMMU_PROPERTY_SHRINK_SECONDS=0)";
        if (seconds > 0)
        {
            try
            {
                gen.Sample(ops =>
                {
                    using var runner = new PropertyRunner(profile);
                    runner.Run(ops);
                }, seed: seed, time: seconds, print: Print);
                return null;
            }
            catch (CsCheckException e)
            {
                Match match = SeedInMessage().Match(e.Message);
                if (match.Success)
                    seed = match.Groups["seed"].Value;
                report = $"CsCheck searched {seconds} s. {e.Message}";
            }
        }
        Op[] sample = gen.Generate(PCG.Parse(seed), null, out _);
        if (PropertyRunner.Passes(profile, sample, out PropertyFailure? failure))
            return null;
        Op[] minimal = DropWhileFailing(profile, sample, ref failure!);
        return new Result(seed, sample, minimal, failure, report);
    }

    /// <summary>Drops operations, and items of batches, one at a time as long as the sequence still fails.</summary>
    private static Op[] DropWhileFailing(RunProfile profile, Op[] ops, ref PropertyFailure failure)
    {
        var current = new List<Op>(ops);
        bool dropped = true;
        while (dropped)
        {
            dropped = false;
            // Everything after the failing operation goes first, in one step.
            if (failure.Index + 1 < current.Count)
            {
                current.RemoveRange(failure.Index + 1, current.Count - failure.Index - 1);
                dropped = true;
            }
            for (int i = current.Count - 1; i >= 0; i--)
            {
                foreach (Op? simpler in Simpler(current[i]))
                {
                    var candidate = new List<Op>(current);
                    if (simpler is null)
                        candidate.RemoveAt(i);
                    else
                        candidate[i] = simpler;
                    if (!PropertyRunner.Passes(profile, candidate, out PropertyFailure? f))
                    {
                        (current, failure) = (candidate, f!);
                        dropped = true;
                        break;
                    }
                }
            }
        }
        return current.ToArray();
    }

    /// <summary>What to try instead of <paramref name="op"/>: nothing (null) first, then a batch without one of its items.</summary>
    private static IEnumerable<Op?> Simpler(Op op)
    {
        yield return null;
        if (op is Op.TranslateBatch { At.Length: > 1 } batch)
        {
            for (int j = 0; j < batch.At.Length; j++)
                yield return batch with { At = batch.At.Where((_, k) => k != j).ToArray() };
        }
    }

    /// <summary>A sequence, one numbered operation per line (CsCheck's <c>print</c>, and the report).</summary>
    public static string Print(IReadOnlyList<Op> ops)
    {
        var text = new StringBuilder();
        for (int i = 0; i < ops.Count; i++)
            text.Append("\n  #").Append(i).Append(' ').Append(ops[i]);
        return text.ToString();
    }

    // CsCheck's failure message starts: Set seed: "<seed>" or -e CsCheck_Seed=<seed> to reproduce
    [GeneratedRegex("Set seed: \"(?<seed>[^\"]+)\"")]
    private static partial Regex SeedInMessage();
}
