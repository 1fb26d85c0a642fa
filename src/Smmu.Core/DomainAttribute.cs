namespace Smmu.Core;

/// <summary>Domain attributes (<c>SMMU_ATTR_*</c>), after the Qualcomm driver's DOMAIN_ATTR_*.</summary>
public enum DomainAttribute : uint
{
    /// <summary>int32, 0 or 1: a dynamic domain. Set before attach.</summary>
    Dynamic = 1,
    /// <summary>uint32: read from an attached domain; set on a dynamic domain before its attach.</summary>
    ContextBank = 2,
    /// <summary>uint32, read-only, valid once attached.</summary>
    Asid = 3,
    /// <summary>uint64, read-only, valid once attached: table address in [47:0], ASID in [63:48].</summary>
    Ttbr0 = 4,
    /// <summary>uint32, free for the client; the context bank's CONTEXTIDR while the domain is active. Set before attach.</summary>
    ProcId = 5,
}
