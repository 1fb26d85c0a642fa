using System.Runtime.InteropServices;
using Smmu.Core;

namespace Smmu.Interop;

internal static unsafe partial class Exports
{
    [UnmanagedCallersOnly(EntryPoint = "smmu_domain_alloc")]
    public static int DomainAlloc(uint smmu, uint* outDomain)
    {
        try
        {
            if (outDomain == null)
                return SmmuError.Invalid;
            if (InstanceTable.Get(smmu) is not { } instance)
                return SmmuError.BadHandle;
            int rc = instance.DomainAlloc(out DomainHandle domain);
            if (rc == SmmuError.Ok)
                *outDomain = domain.Value;
            return rc;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "smmu_domain_free")]
    public static int DomainFree(uint smmu, uint domain)
    {
        try
        {
            return InstanceTable.Get(smmu) is { } instance ? instance.DomainFree(new DomainHandle(domain)) : SmmuError.BadHandle;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "smmu_domain_set_attr")]
    public static int DomainSetAttr(uint smmu, uint domain, uint attribute, void* data, nuint size)
    {
        try
        {
            if (data == null || size > int.MaxValue)
                return SmmuError.Invalid;
            if (InstanceTable.Get(smmu) is not { } instance)
                return SmmuError.BadHandle;
            return instance.SetAttribute(new DomainHandle(domain), (DomainAttribute)attribute, new ReadOnlySpan<byte>(data, (int)size));
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "smmu_domain_get_attr")]
    public static int DomainGetAttr(uint smmu, uint domain, uint attribute, void* data, nuint size)
    {
        try
        {
            if (data == null || size > int.MaxValue)
                return SmmuError.Invalid;
            if (InstanceTable.Get(smmu) is not { } instance)
                return SmmuError.BadHandle;
            return instance.GetAttribute(new DomainHandle(domain), (DomainAttribute)attribute, new Span<byte>(data, (int)size));
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "smmu_attach_device")]
    public static int AttachDevice(uint smmu, uint domain, uint streamId)
    {
        try
        {
            return InstanceTable.Get(smmu) is { } instance ? instance.AttachDevice(new DomainHandle(domain), streamId) : SmmuError.BadHandle;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "smmu_detach_device")]
    public static int DetachDevice(uint smmu, uint domain, uint streamId)
    {
        try
        {
            return InstanceTable.Get(smmu) is { } instance ? instance.DetachDevice(new DomainHandle(domain), streamId) : SmmuError.BadHandle;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }
}
