using System.Runtime.InteropServices;
using Smmu.Core;

namespace Smmu.Interop;

internal static unsafe partial class Exports
{
    [UnmanagedCallersOnly(EntryPoint = "smmu_gather_init")]
    public static void GatherInit(SmmuGather* gather)
    {
        if (gather != null)
            *gather = new SmmuGather();
    }

    [UnmanagedCallersOnly(EntryPoint = "smmu_map_pages")]
    public static int MapPages(uint smmu, uint domain, ulong iova, ulong pa, ulong pageSize, ulong pageCount, uint prot, ulong* outMapped)
    {
        try
        {
            if (outMapped == null)
                return SmmuError.Invalid;
            *outMapped = 0;   // written on failure too: the one exception to the out-parameter rule
            if (InstanceTable.Get(smmu) is not { } instance)
                return SmmuError.BadHandle;
            int rc = instance.MapPages(new DomainHandle(domain), iova, pa, pageSize, pageCount, (SmmuProt)prot, out ulong mapped);
            *outMapped = mapped;
            return rc;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "smmu_unmap_pages")]
    public static long UnmapPages(uint smmu, uint domain, ulong iova, ulong pageSize, ulong pageCount, SmmuGather* gather)
    {
        try
        {
            if (gather != null && gather->Size != SmmuGather.CurrentSize)
                return SmmuError.Invalid;   // struct sizes come before handles
            if (InstanceTable.Get(smmu) is not { } instance)
                return SmmuError.BadHandle;
            return gather == null
                ? instance.UnmapPages(new DomainHandle(domain), iova, pageSize, pageCount)
                : instance.UnmapPages(new DomainHandle(domain), iova, pageSize, pageCount, ref *gather);
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "smmu_iotlb_sync")]
    public static int IotlbSync(uint smmu, uint domain, SmmuGather* gather)
    {
        try
        {
            if (gather == null || gather->Size != SmmuGather.CurrentSize)
                return SmmuError.Invalid;   // pointers and struct sizes come before handles
            return InstanceTable.Get(smmu) is { } instance ? instance.IotlbSync(new DomainHandle(domain), ref *gather) : SmmuError.BadHandle;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "smmu_flush_queue")]
    public static int FlushQueue(uint smmu)
    {
        try
        {
            return InstanceTable.Get(smmu) is { } instance ? instance.FlushQueue() : SmmuError.BadHandle;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "smmu_set_sanitizer_handler")]
    public static int SetSanitizerHandler(uint smmu, delegate* unmanaged<uint, SmmuStaleReport*, void*, void> function, void* cookie)
    {
        try
        {
            if (InstanceTable.Get(smmu) is not { } instance)
                return SmmuError.BadHandle;
            SmmuSanitizerHandler? handler = function == null ? null : new NativeSanitizerHandler(smmu, function, cookie).Invoke;
            return instance.SetSanitizerHandler(handler);
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }
}
