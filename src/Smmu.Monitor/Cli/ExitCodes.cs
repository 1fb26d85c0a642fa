namespace Smmu.Monitor.Cli;

/// <summary>smmu-monitor's exit statuses (documented in docs/monitoring.md and by <c>--help</c>).</summary>
public static class ExitCodes
{
    /// <summary>Done: the duration elapsed, Ctrl+C, or the launched program exited with 0.</summary>
    public const int Ok = 0;
    /// <summary>An unexpected failure.</summary>
    public const int Failure = 1;
    /// <summary>Bad command line.</summary>
    public const int Usage = 2;
    /// <summary>No such process, or it exited while being watched.</summary>
    public const int ProcessGone = 3;
    /// <summary>The process has no .NET diagnostics endpoint (not .NET, diagnostics disabled, or libsmmu.so not yet called).</summary>
    public const int NotDotNet = 4;
    /// <summary>The process runs .NET but has not loaded the SMMU model (Smmu.Core.dll or libsmmu.so).</summary>
    public const int NoModel = 5;
    /// <summary>The session failed (e.g. another tool already collects the process's metrics).</summary>
    public const int SessionFailed = 6;
}

/// <summary>A failure with a message for the user and an exit status.</summary>
public sealed class MonitorException(int exitCode, string message) : Exception(message)
{
    /// <summary>See <see cref="ExitCodes"/>.</summary>
    public int ExitCode { get; } = exitCode;
}
