using Smmu.Core;

namespace Smmu.Bench.Benchmarks;

/// <summary>How a domain switch treats the TLB (a benchmark parameter).</summary>
public enum SwitchMode
{
    /// <summary>The default: entries are ASID-tagged, a switch invalidates nothing.</summary>
    AsidTagged,
    /// <summary><see cref="SmmuConfigFlags.NoAsidTagging"/>: every switch invalidates the outgoing ASID.</summary>
    NoAsidTagging,
}

internal static class SwitchModeExtensions
{
    public static SmmuConfigFlags Flags(this SwitchMode mode) =>
        mode == SwitchMode.NoAsidTagging ? SmmuConfigFlags.NoAsidTagging : SmmuConfigFlags.None;
}
