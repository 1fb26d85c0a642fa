using Smmu.Core;

namespace Smmu.Interop;

/// <summary>
/// The one catch-all every export shares: an exception escaping an [UnmanagedCallersOnly] method
/// would kill the host process, so each export's body runs in try/catch and maps what it catches here.
/// </summary>
internal static class ExportGuard
{
    /// <summary>The code for an exception that reached an export.</summary>
    public static int Fail(Exception exception) =>
        exception is OutOfMemoryException or InsufficientExecutionStackException ? SmmuError.NoMemory : SmmuError.Internal;
}
