namespace Smmu.Core;

/// <summary>A domain of one <see cref="SmmuInstance"/> (<c>smmu_domain_t</c>). <c>default</c> is never valid.</summary>
/// <param name="Value">The handle as C sees it.</param>
public readonly record struct DomainHandle(uint Value)
{
    /// <summary>Never a valid domain.</summary>
    public static DomainHandle None => default;

    /// <inheritdoc/>
    public override string ToString() => $"domain 0x{Value:x8}";
}
