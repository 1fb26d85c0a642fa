namespace Smmu.Core;

/// <summary>Why a translation faulted (<c>SMMU_FAULT_*</c>).</summary>
public enum FaultType : uint
{
    /// <summary>No fault.</summary>
    None = 0,
    /// <summary>An invalid (or reserved) descriptor, or an IOVA beyond 2^ias (reported at level 0).</summary>
    Translation = 1,
    /// <summary>The leaf does not grant the access (AP, UXN/PXN).</summary>
    Permission = 2,
    /// <summary>The leaf's AF bit is clear (the model has no hardware AF update).</summary>
    AccessFlag = 3,
    /// <summary>A leaf or table address beyond 2^oas.</summary>
    AddressSize = 4,
    /// <summary>A walk read outside simulated memory (external abort; FSR.EF).</summary>
    External = 5,
}
