using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Smmu.Core;

namespace Smmu.Interop;

internal static unsafe partial class Exports
{
    [UnmanagedCallersOnly(EntryPoint = "smmu_switch_domain")]
    public static int SwitchDomain(uint smmu, uint domain)
    {
        try
        {
            return InstanceTable.Get(smmu) is { } instance ? instance.SwitchDomain(new DomainHandle(domain)) : SmmuError.BadHandle;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    // No frame zeroing for the per-transaction exports: every local is assigned before use (C#'s rule).
    [UnmanagedCallersOnly(EntryPoint = "smmu_translate"), SkipLocalsInit]
    public static int Translate(uint smmu, uint streamId, ulong iova, uint access, ulong* outPa)
    {
        try
        {
            if (outPa == null)
                return SmmuError.Invalid;
            if (InstanceTable.Get(smmu) is not { } instance)
                return SmmuError.BadHandle;
            int rc = instance.Translate(streamId, iova, (SmmuAccess)access, out ulong pa);
            if (rc == SmmuError.Ok)
                *outPa = pa;
            return rc;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "smmu_translate_batch"), SkipLocalsInit]
    public static int TranslateBatch(uint smmu, uint streamId, ulong* iovas, ulong* outPas, nuint count, uint access, nuint* outDone)
    {
        try
        {
            if (outDone == null || count > int.MaxValue || (count > 0 && (iovas == null || outPas == null)))
                return SmmuError.Invalid;
            if (InstanceTable.Get(smmu) is not { } instance)
                return SmmuError.BadHandle;
            int rc = instance.TranslateBatch(streamId, new ReadOnlySpan<ulong>(iovas, (int)count),
                                             new Span<ulong>(outPas, (int)count), (SmmuAccess)access, out int done);
            *outDone = (nuint)done;
            return rc;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "smmu_fast_views")]
    public static void* FastViews()
    {
        try
        {
            return Smmu.Core.Translation.FastPathViews.Table;
        }
        catch (Exception)
        {
            return null;   // no table: the header's inline path calls the library for everything
        }
    }
}
