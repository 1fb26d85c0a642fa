using System.Runtime.InteropServices;
using Smmu.Core;

namespace Smmu.Interop;

internal static unsafe partial class Exports
{
    [UnmanagedCallersOnly(EntryPoint = "smmu_set_fault_handler")]
    public static int SetFaultHandler(uint smmu, uint baseDomain, delegate* unmanaged<uint, uint, SmmuFault*, void*, int> function, void* cookie)
    {
        try
        {
            if (InstanceTable.Get(smmu) is not { } instance)
                return SmmuError.BadHandle;
            SmmuFaultHandler? handler = function == null ? null : new NativeFaultHandler(smmu, function, cookie).Invoke;
            return instance.SetFaultHandler(new DomainHandle(baseDomain), handler);
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "smmu_get_fault")]
    public static int GetFault(uint smmu, uint contextBank, SmmuFault* outFault)
    {
        try
        {
            if (outFault == null || outFault->Size != SmmuFault.CurrentSize)
                return SmmuError.Invalid;
            if (InstanceTable.Get(smmu) is not { } instance)
                return SmmuError.BadHandle;
            int rc = instance.GetFault(contextBank, out SmmuFault fault);
            if (rc == SmmuError.Ok)
                *outFault = fault;
            return rc;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "smmu_clear_fault")]
    public static int ClearFault(uint smmu, uint contextBank)
    {
        try
        {
            return InstanceTable.Get(smmu) is { } instance ? instance.ClearFault(contextBank) : SmmuError.BadHandle;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "smmu_get_context_bank")]
    public static int GetContextBank(uint smmu, uint contextBank, ContextBankState* outState)
    {
        try
        {
            if (outState == null || outState->Size != ContextBankState.CurrentSize)
                return SmmuError.Invalid;
            if (InstanceTable.Get(smmu) is not { } instance)
                return SmmuError.BadHandle;
            int rc = instance.GetContextBankState(contextBank, out ContextBankState state);
            if (rc == SmmuError.Ok)
                *outState = state;
            return rc;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }
}
