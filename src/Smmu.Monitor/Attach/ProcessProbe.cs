using Microsoft.Diagnostics.NETCore.Client;
using Smmu.Monitor.Cli;

namespace Smmu.Monitor.Attach;

/// <summary>A process that publishes a .NET diagnostics endpoint.</summary>
/// <param name="Pid">Process id.</param>
/// <param name="Name">Its executable's name.</param>
/// <param name="CommandLine">Its command line.</param>
/// <param name="ModelLoaded">True when Smmu.Core.dll or libsmmu.so is mapped; null when that cannot be read.</param>
public sealed record DotNetProcess(int Pid, string Name, string CommandLine, bool? ModelLoaded);

/// <summary>
/// What can be learnt about a process without attaching to it: whether it exists (<c>/proc</c>),
/// whether it has a .NET diagnostics endpoint (<see cref="DiagnosticsClient.GetPublishedProcesses"/>:
/// the <c>dotnet-diagnostic-PID-*</c> socket every .NET runtime — CoreCLR, or NativeAOT with EventPipe
/// such as libsmmu.so — opens in <c>$TMPDIR</c>), and whether it has the model loaded: a mapping of
/// <c>Smmu.Core.dll</c> (CoreCLR maps every assembly it loads) or <c>libsmmu.so</c> in
/// <c>/proc/PID/maps</c>. A program that compiled Smmu.Core into a NativeAOT executable or a single-file
/// bundle shows neither; <c>--no-model-check</c> skips that check.
/// </summary>
public static class ProcessProbe
{
    /// <summary>The files whose mapping means "the model is loaded".</summary>
    public static readonly string[] ModelFiles = ["Smmu.Core.dll", "libsmmu.so"];

    /// <summary>True while process <paramref name="pid"/> exists (and is not a zombie).</summary>
    public static bool Exists(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            int close = stat.LastIndexOf(')');
            return close < 0 || close + 2 >= stat.Length || stat[close + 2] != 'Z';
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>True when process <paramref name="pid"/> publishes a .NET diagnostics endpoint.</summary>
    public static bool HasDiagnosticsEndpoint(int pid) => DiagnosticsClient.GetPublishedProcesses().Contains(pid);

    /// <summary>True when the model is mapped into <paramref name="pid"/>; null when its maps cannot be read.</summary>
    public static bool? ModelLoaded(int pid)
    {
        try
        {
            foreach (string line in File.ReadLines($"/proc/{pid}/maps"))
            {
                int slash = line.LastIndexOf('/');
                if (slash < 0)
                    continue;
                ReadOnlySpan<char> file = line.AsSpan(slash + 1).Trim();
                foreach (string model in ModelFiles)
                {
                    if (file.SequenceEqual(model))
                        return true;
                }
            }
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Every process with a diagnostics endpoint, by pid (this one excepted).</summary>
    public static IReadOnlyList<DotNetProcess> List() =>
        [.. DiagnosticsClient.GetPublishedProcesses().Distinct().Where(pid => pid != Environment.ProcessId && Exists(pid)).Order()
            .Select(pid => new DotNetProcess(pid, NameOf(pid), CommandLineOf(pid), ModelLoaded(pid)))];

    /// <summary>The executable's name (<c>/proc/PID/comm</c>), or "?".</summary>
    public static string NameOf(int pid) => ReadOr($"/proc/{pid}/comm", "?").Trim();

    /// <summary>The command line, arguments separated by spaces, or "".</summary>
    public static string CommandLineOf(int pid) => ReadOr($"/proc/{pid}/cmdline", "").TrimEnd('\0').Replace('\0', ' ');

    /// <summary>
    /// Checks that <paramref name="pid"/> can be watched, in the order a user fixes things: it exists, it
    /// runs .NET, it has the model loaded. Throws a <see cref="MonitorException"/> that says which failed.
    /// </summary>
    public static void CheckAttachable(int pid, bool checkModel)
    {
        if (pid <= 0 || !Exists(pid))
            throw new MonitorException(ExitCodes.ProcessGone, $"no process with id {pid} (it exited, or never existed)");
        if (!HasDiagnosticsEndpoint(pid))
        {
            throw new MonitorException(ExitCodes.NotDotNet,
                $"process {pid} ({NameOf(pid)}) has no .NET diagnostics endpoint: it is not a .NET process, or it runs with "
                + "DOTNET_EnableDiagnostics=0, or (a C program) it has not called libsmmu.so yet — the library's runtime "
                + "starts at the first smmu_* call — or its libsmmu.so was built with EventSourceSupport=false");
        }
        if (checkModel && ModelLoaded(pid) == false)
        {
            throw new MonitorException(ExitCodes.NoModel,
                $"process {pid} ({NameOf(pid)}) runs .NET but has not loaded the SMMU model (neither Smmu.Core.dll nor "
                + "libsmmu.so is mapped); use --no-model-check for a NativeAOT or single-file program with Smmu.Core built in");
        }
    }

    private static string ReadOr(string path, string fallback)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return fallback;
        }
    }
}
