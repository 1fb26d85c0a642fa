namespace Smmu.Core;

/// <summary>Instance-wide behaviour switches (<c>SMMU_CFG_*</c>).</summary>
[Flags]
public enum SmmuConfigFlags : uint
{
    /// <summary>ASID-tagged TLB: switching domains invalidates nothing (the seed's goal).</summary>
    None = 0,
    /// <summary>What the shipping kgsl driver does: every switch invalidates the context bank's TLB entries.</summary>
    NoAsidTagging = 0x1,
    /// <summary>Match TLB sets way by way instead of with SIMD (for comparison and tests).</summary>
    ScalarTlb = 0x2,
    /// <summary>Every defined flag.</summary>
    All = NoAsidTagging | ScalarTlb,
}
