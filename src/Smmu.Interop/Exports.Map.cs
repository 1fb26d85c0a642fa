using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Smmu.Core;

namespace Smmu.Interop;

internal static unsafe partial class Exports
{
    // No frame zeroing for the per-transaction exports: every local is assigned before use (C#'s rule).
    [UnmanagedCallersOnly(EntryPoint = "smmu_map"), SkipLocalsInit]
    public static int Map(uint smmu, uint domain, ulong iova, ulong pa, ulong size, uint prot)
    {
        try
        {
            return InstanceTable.Get(smmu) is { } instance
                ? instance.Map(new DomainHandle(domain), iova, pa, size, (SmmuProt)prot)
                : SmmuError.BadHandle;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "smmu_unmap"), SkipLocalsInit]
    public static long Unmap(uint smmu, uint domain, ulong iova, ulong size)
    {
        try
        {
            return InstanceTable.Get(smmu) is { } instance
                ? instance.Unmap(new DomainHandle(domain), iova, size)
                : SmmuError.BadHandle;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "smmu_iova_to_phys")]
    public static int IovaToPhys(uint smmu, uint domain, ulong iova, ulong* outPa)
    {
        try
        {
            if (outPa == null)
                return SmmuError.Invalid;
            if (InstanceTable.Get(smmu) is not { } instance)
                return SmmuError.BadHandle;
            int rc = instance.IovaToPhys(new DomainHandle(domain), iova, out ulong pa);
            if (rc == SmmuError.Ok)
                *outPa = pa;
            return rc;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "smmu_phys_read64")]
    public static int PhysRead64(uint smmu, ulong pa, ulong* outValue)
    {
        try
        {
            if (outValue == null)
                return SmmuError.Invalid;
            if (InstanceTable.Get(smmu) is not { } instance)
                return SmmuError.BadHandle;
            int rc = instance.PhysRead64(pa, out ulong value);
            if (rc == SmmuError.Ok)
                *outValue = value;
            return rc;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "smmu_phys_write64")]
    public static int PhysWrite64(uint smmu, ulong pa, ulong value)
    {
        try
        {
            return InstanceTable.Get(smmu) is { } instance ? instance.PhysWrite64(pa, value) : SmmuError.BadHandle;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }
}
