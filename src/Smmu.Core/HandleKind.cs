namespace Smmu.Core;

/// <summary>What a handle names; part of the handle, so one kind is never taken for another.</summary>
public enum HandleKind : uint
{
    /// <summary>An SMMU instance (<c>smmu_t</c>).</summary>
    Instance = 1,
    /// <summary>A domain (<c>smmu_domain_t</c>).</summary>
    Domain = 2,
}
