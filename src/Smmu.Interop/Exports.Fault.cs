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
            if (outFault == null || !VersionedStruct.IsKnownSize(outFault->Size, SmmuFault.CurrentSize, SmmuFault.SizeV1_0))
                return SmmuError.Invalid;
            if (InstanceTable.Get(smmu) is not { } instance)
                return SmmuError.BadHandle;
            int rc = instance.GetFault(contextBank, out SmmuFault fault);
            if (rc == SmmuError.Ok)
                VersionedStruct.Write(outFault, fault, outFault->Size);
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
            if (outState == null || !VersionedStruct.IsKnownSize(outState->Size, ContextBankState.CurrentSize, ContextBankState.SizeV1_0))
                return SmmuError.Invalid;
            if (InstanceTable.Get(smmu) is not { } instance)
                return SmmuError.BadHandle;
            int rc = instance.GetContextBankState(contextBank, out ContextBankState state);
            if (rc == SmmuError.Ok)
                VersionedStruct.Write(outState, state, outState->Size);
            return rc;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }
}
