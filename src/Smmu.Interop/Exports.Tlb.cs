using System.Runtime.InteropServices;
using Smmu.Core;

namespace Smmu.Interop;

internal static unsafe partial class Exports
{
    [UnmanagedCallersOnly(EntryPoint = "smmu_tlb_inv_all")]
    public static int TlbInvalidateAll(uint smmu)
    {
        try
        {
            return InstanceTable.Get(smmu) is { } instance ? instance.TlbInvalidateAll() : SmmuError.BadHandle;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "smmu_tlb_inv_asid")]
    public static int TlbInvalidateAsid(uint smmu, uint asid)
    {
        try
        {
            return InstanceTable.Get(smmu) is { } instance ? instance.TlbInvalidateAsid(asid) : SmmuError.BadHandle;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "smmu_tlb_inv_va")]
    public static int TlbInvalidateVa(uint smmu, uint asid, ulong iova, ulong size)
    {
        try
        {
            return InstanceTable.Get(smmu) is { } instance ? instance.TlbInvalidateVa(asid, iova, size) : SmmuError.BadHandle;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "smmu_tlb_inv_va_all")]
    public static int TlbInvalidateVaAll(uint smmu, ulong iova, ulong size)
    {
        try
        {
            return InstanceTable.Get(smmu) is { } instance ? instance.TlbInvalidateVaAll(iova, size) : SmmuError.BadHandle;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "smmu_tlb_inv_vmid")]
    public static int TlbInvalidateVmid(uint smmu, uint vmid)
    {
        try
        {
            return InstanceTable.Get(smmu) is { } instance ? instance.TlbInvalidateVmid(vmid) : SmmuError.BadHandle;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "smmu_tlb_inv_ipa")]
    public static int TlbInvalidateIpa(uint smmu, uint vmid, ulong ipa, ulong size)
    {
        try
        {
            return InstanceTable.Get(smmu) is { } instance ? instance.TlbInvalidateIpa(vmid, ipa, size) : SmmuError.BadHandle;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }
}
