using Smmu.Core.Domains;

namespace Smmu.Core;

/// <summary>smmu.h "Faults": the base domain's handler and the context bank's recorded fault. Delivery is the <see cref="Translation.FaultUnit"/>'s.</summary>
public sealed partial class SmmuInstance
{
    /// <summary>
    /// Installs (or with null, removes) a base domain's fault handler (<c>iommu_set_fault_handler</c>).
    /// Faults on the domain's context bank reach it whichever domain is active. Errors: BadHandle;
    /// Invalid for a dynamic domain, whose faults always go to its base domain (seed constraint 2).
    /// </summary>
    public int SetFaultHandler(DomainHandle baseDomain, SmmuFaultHandler? handler)
    {
        ThrowIfDisposed();
        if (!_domains.TryResolve(baseDomain, out int index))
            return SmmuError.BadHandle;
        ref Domain d = ref _domains[index];
        if (d.IsDynamic)
            return SmmuError.Invalid;
        d.FaultHandler = handler;
        return SmmuError.Ok;
    }

    /// <summary>
    /// The fault a context bank has recorded (FSR non-zero). Without a fault handler a fault stays
    /// recorded until <see cref="ClearFault"/>; later faults only set FSR.MULTI. Errors: Invalid (no such
    /// bank); NoEntry (no fault recorded).
    /// </summary>
    public int GetFault(uint contextBank, out SmmuFault fault)
    {
        ThrowIfDisposed();
        fault = default;
        if (contextBank >= _config.NumContextBanks)
            return SmmuError.Invalid;
        ref Translation.ContextBank bank = ref _translator.Banks[contextBank];
        if (bank.Fsr == 0)
            return SmmuError.NoEntry;
        fault = bank.FaultRecord;
        fault.Fsr = bank.Fsr;
        return SmmuError.Ok;
    }

    /// <summary>Clears a context bank's fault registers (FSR write-1-to-clear). Invalid when the bank does not exist.</summary>
    public int ClearFault(uint contextBank)
    {
        ThrowIfDisposed();
        if (contextBank >= _config.NumContextBanks)
            return SmmuError.Invalid;
        _translator.Banks[contextBank].ClearFault();
        return SmmuError.Ok;
    }
}
