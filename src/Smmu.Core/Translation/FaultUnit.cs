using Smmu.Core.Diagnostics;
using Smmu.Core.Domains;

namespace Smmu.Core.Translation;

/// <summary>
/// Where a fault goes: it is recorded in the context bank's FSR/FAR/FSYNR0/IPAFAR (the first one; later
/// ones set FSR.MULTI) and delivered to the bank's base domain's handler, whichever domain is active (seed
/// constraint 2). A handler may call back into the instance; a fault its own calls raise is recorded
/// but not delivered again.
/// </summary>
internal sealed class FaultUnit
{
    private readonly SmmuInstance _owner;
    private readonly ContextBank[] _banks;
    private readonly DomainTable _domains;
    private int _handlerDepth;

    public FaultUnit(SmmuInstance owner, ContextBank[] banks, DomainTable domains)
    {
        _owner = owner;
        _banks = banks;
        _domains = domains;
    }

    /// <summary>True while a fault handler runs.</summary>
    public bool InHandler => _handlerDepth > 0;

    /// <summary>
    /// Records a fault on the bank and reports it to the bank's base domain. Returns true when the
    /// handler asks for a retry.
    /// </summary>
    public bool Raise(uint streamId, int bankIndex, ulong iova, SmmuAccess access, FaultType type, in WalkInfo where)
    {
        ref ContextBank bank = ref _banks[bankIndex];
        var fault = new SmmuFault
        {
            Size = SmmuFault.CurrentSize,
            Type = type,
            Level = (uint)where.Level,
            StreamId = streamId,
            ContextBank = (uint)bankIndex,
            Asid = bank.Asid,
            Access = access,
            ActiveDomain = bank.ActiveDomain,
            Iova = iova,
            Fsr = FaultRegisters.FsrFor(type),
            Fsynr = FaultRegisters.Fsynr0For(where.Level, access, where.S1ptw),
            Stage = (uint)where.Stage,
            S1ptw = where.S1ptw ? 1u : 0u,
            Ipa = where.Stage == 2 ? where.Ipa : 0,
        };
        if ((bank.Fsr & FaultRegisters.FsrFaultMask) != 0)
        {
            bank.Fsr |= FaultRegisters.FsrMulti;   // FAR, IPAFAR and FSYNR0 keep the first fault
        }
        else
        {
            bank.Fsr = fault.Fsr;
            bank.Far = iova;
            bank.Ipafar = fault.Ipa;
            bank.Fsynr0 = fault.Fsynr;
            bank.FaultRecord = fault;
        }
        if (SmmuEventSource.Log.IsEnabled())
            SmmuEventSource.Log.Fault(_owner.Id, fault);

        SmmuFaultHandler? handler = _domains[bank.BaseIndex].FaultHandler;
        if (handler is null || _handlerDepth > 0)
            return false;   // no handler, or a fault raised by a handler's own call: recorded, not delivered
        int verdict;
        _handlerDepth++;
        try
        {
            verdict = handler(_owner, bank.BaseDomain, in fault);
        }
        finally
        {
            _handlerDepth--;
        }
        // As arm-smmu's context-fault interrupt handler does once it has reported the fault.
        _banks[bankIndex].ClearFault();
        return verdict == FaultVerdict.Retry;
    }
}
