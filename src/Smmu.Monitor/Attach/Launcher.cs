using System.Diagnostics;
using Microsoft.Diagnostics.NETCore.Client;
using Smmu.Monitor.Cli;

namespace Smmu.Monitor.Attach;

/// <summary>
/// Starts a program paused at its runtime's start, so a session set up before it runs catches its
/// counters from the first second. It uses the runtime's own switch, <c>DOTNET_DefaultDiagnosticPortSuspend=1</c>:
/// the runtime opens its diagnostics endpoint and waits for a ResumeRuntime command
/// (<see cref="Resume"/>). A C# program pauses before <c>Main</c>; a C program linked with libsmmu.so
/// runs its own code until its first <c>smmu_*</c> call, where the library's runtime starts and pauses,
/// before the model has counted anything.
/// <para>The program must be the process that loads the model (not a shell or <c>dotnet run</c>, whose
/// child would have another pid; <c>exec</c> in a shell script keeps the pid).</para>
/// </summary>
public static class Launcher
{
    /// <summary>The runtime switch that pauses the runtime at startup until a diagnostics client resumes it.</summary>
    public const string SuspendVariable = "DOTNET_DefaultDiagnosticPortSuspend";

    /// <summary>
    /// Starts <paramref name="startInfo"/> suspended and waits until its diagnostics endpoint is up.
    /// Throws <see cref="MonitorException"/> when the program cannot start, or exits first.
    /// </summary>
    public static Process StartSuspended(ProcessStartInfo startInfo, CancellationToken cancel)
    {
        startInfo.UseShellExecute = false;
        startInfo.Environment[SuspendVariable] = "1";
        Process process;
        try
        {
            process = Process.Start(startInfo) ?? throw new MonitorException(ExitCodes.Failure, $"could not start {startInfo.FileName}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new MonitorException(ExitCodes.Usage, $"could not start {startInfo.FileName}: {e.Message}");
        }
        try
        {
            while (!ProcessProbe.HasDiagnosticsEndpoint(process.Id))
            {
                if (process.WaitForExit(20))
                {
                    throw new MonitorException(ExitCodes.NotDotNet,
                        $"{startInfo.FileName} exited (status {process.ExitCode}) without starting .NET: it never called libsmmu.so "
                        + "or Smmu.Core, or it is not the process that loads the model (a shell or `dotnet run` starts another)");
                }
                cancel.ThrowIfCancellationRequested();
            }
            return process;
        }
        catch
        {
            Kill(process);
            throw;
        }
    }

    /// <summary>Lets a program started by <see cref="StartSuspended"/> run.</summary>
    public static void Resume(int pid) => new DiagnosticsClient(pid).ResumeRuntime();

    /// <summary>Ends a launched program (and its children) if it still runs.</summary>
    public static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
                process.Kill(entireProcessTree: true);
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // already gone
        }
    }
}
