using Smmu.Core.Domains;

namespace Smmu.Core;

public sealed partial class SmmuInstance
{
    /// <summary>
    /// Installs (or with null, removes) a base domain's fault handler (<c>iommu_set_fault_handler</c>).
    /// Faults on the domain's context bank reach it whichever domain is active. Errors: BadHandle;
    /// Invalid for a dynamic domain, whose faults always go to its base domain (seed constraint 2).
    /// </summary>
    public int SetFaultHandler(DomainHandle baseDomain, SmmuFaultHandler? handler)
    {
        if (!_domains.TryResolve(baseDomain, out int index))
            return SmmuError.BadHandle;
        ref Domain d = ref _domains[index];
        if (d.IsDynamic)
            return SmmuError.Invalid;
        d.FaultHandler = handler;
        return SmmuError.Ok;
    }

    /// <summary>A snapshot of a context bank's registers. Invalid when the bank does not exist.</summary>
    public int GetContextBank(uint contextBank, out ContextBankState state)
    {
        state = default;
        if (contextBank >= (uint)_banks.Length)
            return SmmuError.Invalid;
        ref ContextBank bank = ref _banks[contextBank];
        state = new ContextBankState
        {
            Size = ContextBankState.CurrentSize,
            InUse = bank.InUse ? 1u : 0u,
            BaseDomain = bank.BaseDomain,
            ActiveDomain = bank.ActiveDomain,
            Asid = bank.Asid,
            ContextIdr = bank.ContextIdr,
            StreamCount = (uint)bank.StreamCount,
            DynamicCount = (uint)bank.DynamicCount,
            Ttbr0 = bank.InUse ? ContextBankState.Ttbr0Image(bank.Ttbr0, bank.Asid) : 0,
            Fsr = bank.Fsr,
            Fsynr0 = bank.Fsynr0,
            Far = bank.Far,
        };
        return SmmuError.Ok;
    }

    /// <summary>
    /// The fault a context bank has recorded (FSR non-zero). Without a fault handler a fault stays
    /// recorded until <see cref="ClearFault"/>; later faults only set FSR.MULTI. Errors: Invalid (no such
    /// bank); NoEntry (no fault recorded).
    /// </summary>
    public int GetFault(uint contextBank, out SmmuFault fault)
    {
        fault = default;
        if (contextBank >= (uint)_banks.Length)
            return SmmuError.Invalid;
        ref ContextBank bank = ref _banks[contextBank];
        if (bank.Fsr == 0)
            return SmmuError.NoEntry;
        fault = bank.FaultRecord;
        fault.Fsr = bank.Fsr;
        return SmmuError.Ok;
    }

    /// <summary>Clears a context bank's fault registers (FSR write-1-to-clear). Invalid when the bank does not exist.</summary>
    public int ClearFault(uint contextBank)
    {
        if (contextBank >= (uint)_banks.Length)
            return SmmuError.Invalid;
        ClearFaultRegisters(ref _banks[contextBank]);
        return SmmuError.Ok;
    }

    /// <summary>
    /// Records a fault on the bank and reports it to the bank's base domain (seed constraint 2).
    /// Returns true when the handler asks for a retry.
    /// </summary>
    private bool RaiseFault(uint streamId, int bankIndex, ulong iova, SmmuAccess access, FaultType type, int level)
    {
        _stats.Faults++;
        ref ContextBank bank = ref _banks[bankIndex];
        var fault = new SmmuFault
        {
            Size = SmmuFault.CurrentSize,
            Type = type,
            Level = (uint)level,
            StreamId = streamId,
            ContextBank = (uint)bankIndex,
            Asid = bank.Asid,
            Access = access,
            ActiveDomain = bank.ActiveDomain,
            Iova = iova,
            Fsr = FaultRegisters.FsrFor(type),
            Fsynr = FaultRegisters.Fsynr0For(level, access),
        };
        if ((bank.Fsr & FaultRegisters.FsrFaultMask) != 0)
        {
            bank.Fsr |= FaultRegisters.FsrMulti;   // FAR and FSYNR0 keep the first fault
        }
        else
        {
            bank.Fsr = fault.Fsr;
            bank.Far = iova;
            bank.Fsynr0 = fault.Fsynr;
            bank.FaultRecord = fault;
        }

        SmmuFaultHandler? handler = _domains[bank.BaseIndex].FaultHandler;
        if (handler is null || _handlerDepth > 0)
            return false;   // no handler, or a fault raised by a handler's own call: recorded, not delivered
        int verdict;
        _handlerDepth++;
        try
        {
            verdict = handler(this, bank.BaseDomain, in fault);
        }
        finally
        {
            _handlerDepth--;
        }
        // As arm-smmu's context-fault interrupt handler does once it has reported the fault.
        ClearFaultRegisters(ref _banks[bankIndex]);
        return verdict == FaultVerdict.Retry;
    }

    private static void ClearFaultRegisters(ref ContextBank bank)
    {
        bank.Fsr = 0;
        bank.Far = 0;
        bank.Fsynr0 = 0;
        bank.FaultRecord = default;
    }
}
