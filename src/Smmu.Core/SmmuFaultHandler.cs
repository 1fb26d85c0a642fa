namespace Smmu.Core;

/// <summary>
/// A base domain's fault handler (<c>iommu_set_fault_handler</c>): called for every fault on the
/// domain's context bank, also while a dynamic domain is active (seed constraint 2). It may call
/// back into the instance (read stats, map, unmap, switch) but cannot destroy it. Returns a
/// <see cref="FaultVerdict"/>.
/// </summary>
public delegate int SmmuFaultHandler(SmmuInstance smmu, DomainHandle baseDomain, in SmmuFault fault);
