using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Smmu.Core;

[assembly: DisableRuntimeMarshalling]

namespace Smmu.Interop;

/// <summary>
/// The C ABI (native-headers/smmu.h), one file per header section. Every export has the same shape:
/// check pointers, resolve the handle, call <see cref="SmmuInstance"/>, return its code — inside the
/// shared catch-all (<see cref="ExportGuard"/>). Only blittable types cross.
/// </summary>
internal static unsafe partial class Exports
{
    /// <summary>(major &lt;&lt; 16) | minor; keep in step with SMMU_ABI_VERSION in smmu.h.</summary>
    internal const int AbiVersion = 1 << 16 | 1;

    [UnmanagedCallersOnly(EntryPoint = "smmu_abi_version")]
    public static int AbiVersionExport() => AbiVersion;

    [UnmanagedCallersOnly(EntryPoint = "smmu_simd_width")]
    public static int SimdWidthExport() => (int)SimdSupport.Widest;

    [UnmanagedCallersOnly(EntryPoint = "smmu_strerror")]
    public static byte* StrError(int code) =>
        (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(SmmuError.DescribeUtf8(code)));

    [UnmanagedCallersOnly(EntryPoint = "smmu_config_init")]
    public static void ConfigInit(SmmuConfig* config)
    {
        if (config != null)
            *config = SmmuConfig.Default;
    }

    [UnmanagedCallersOnly(EntryPoint = "smmu_create")]
    public static int Create(SmmuConfig* config, uint* outSmmu)
    {
        try
        {
            if (config == null || outSmmu == null
                || !VersionedStruct.IsKnownSize(config->Size, SmmuConfig.CurrentSize, SmmuConfig.SizeV1_0))
                return SmmuError.Invalid;
            SmmuConfig requested = VersionedStruct.Read(config, config->Size, SmmuConfig.Default);
            int rc = SmmuInstance.Create(requested, out SmmuInstance? instance);
            if (rc != SmmuError.Ok)
                return rc;
            *outSmmu = InstanceTable.Add(instance!);
            return SmmuError.Ok;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "smmu_destroy")]
    public static int Destroy(uint smmu)
    {
        try
        {
            if (InstanceTable.Get(smmu) is not { } instance)
                return SmmuError.BadHandle;
            if (instance.InHandler)
                return SmmuError.Busy;
            InstanceTable.TryRemove(smmu, out _);
            instance.Dispose();
            return SmmuError.Ok;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "smmu_get_stats")]
    public static int GetStats(uint smmu, SmmuStats* outStats)
    {
        try
        {
            if (outStats == null || !VersionedStruct.IsKnownSize(outStats->Size, SmmuStats.CurrentSize, SmmuStats.SizeV1_0))
                return SmmuError.Invalid;
            if (InstanceTable.Get(smmu) is not { } instance)
                return SmmuError.BadHandle;
            int rc = instance.GetStats(out SmmuStats stats);
            VersionedStruct.Write(outStats, stats, outStats->Size);
            return rc;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "smmu_reset_stats")]
    public static int ResetStats(uint smmu)
    {
        try
        {
            return InstanceTable.Get(smmu) is { } instance ? instance.ResetStats() : SmmuError.BadHandle;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }
}
