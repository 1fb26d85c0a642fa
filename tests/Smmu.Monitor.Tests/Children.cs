using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Smmu.Monitor.Tests;

/// <summary>
/// A workload child (tests/Smmu.Workload or tests/native/workload.c): its stdin is held open, its
/// stdout lines are collected as they come, and the STATS and FAULT lines it prints are parsed.
/// Killed on dispose if still running.
/// </summary>
internal sealed class Child : IDisposable
{
    private readonly BlockingCollection<string> _lines = [];
    private readonly List<string> _all = [];

    private Child(Process process)
    {
        Process = process;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
                _lines.CompleteAdding();
            else
                _lines.Add(e.Data);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
                lock (_all)
                    _all.Add("stderr: " + e.Data);
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public Process Process { get; }

    public int Pid => Process.Id;

    /// <summary>Per instance id, the STATS line's fields.</summary>
    public Dictionary<int, Dictionary<string, ulong>> Stats { get; } = [];

    /// <summary>The FAULT lines' fields, in order.</summary>
    public List<Dictionary<string, ulong>> Faults { get; } = [];

    /// <summary>Everything the child printed so far (for failure messages).</summary>
    public string Transcript
    {
        get
        {
            lock (_all)
                return string.Join('\n', _all);
        }
    }

    /// <summary>Starts <paramref name="start"/> (stdio redirected here).</summary>
    public static Child Start(ProcessStartInfo start)
    {
        start.RedirectStandardInput = start.RedirectStandardOutput = start.RedirectStandardError = true;
        start.UseShellExecute = false;
        return Wrap(Process.Start(start)!);
    }

    /// <summary>Wraps a process started elsewhere with stdio redirected (e.g. by the monitor's launcher).</summary>
    public static Child Wrap(Process process) => new(process);

    /// <summary>The managed workload: <c>dotnet Smmu.Workload.dll ARGS</c>.</summary>
    public static ProcessStartInfo Managed(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet");
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Smmu.Workload.dll"));
        foreach (string a in args)
            start.ArgumentList.Add(a);
        return start;
    }

    /// <summary>The C workload, built against the published libsmmu.so.</summary>
    public static ProcessStartInfo Native(NativeBuild build, params string[] args)
    {
        var start = new ProcessStartInfo(build.Workload);
        foreach (string a in args)
            start.ArgumentList.Add(a);
        return start;
    }

    /// <summary>Reads lines until one equals <paramref name="line"/>, parsing STATS and FAULT lines on the way.</summary>
    public void WaitFor(string line, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            TimeSpan left = timeout - deadline.Elapsed;
            if (left <= TimeSpan.Zero || !_lines.TryTake(out string? next, left))
                throw new TimeoutException($"the child did not print '{line}' in {timeout.TotalSeconds} s; it printed:\n{Transcript}");
            lock (_all)
                _all.Add(next);
            if (next.StartsWith("ERROR", StringComparison.Ordinal))
                throw new InvalidOperationException($"the child failed: {next}\n{Transcript}");
            if (next.StartsWith("STATS ", StringComparison.Ordinal))
            {
                Dictionary<string, ulong> fields = Fields(next);
                Stats[(int)fields["instance"]] = fields;
            }
            else if (next.StartsWith("FAULT ", StringComparison.Ordinal))
            {
                Faults.Add(Fields(next));
            }
            if (next == line)
                return;
        }
    }

    /// <summary>Sends one line to the child's stdin.</summary>
    public void Send(string line)
    {
        Process.StandardInput.WriteLine(line);
        Process.StandardInput.Flush();
    }

    /// <summary>Closes stdin (the workload then exits 0) and waits for the exit.</summary>
    public int Finish(TimeSpan timeout)
    {
        Process.StandardInput.Close();
        if (!Process.WaitForExit((int)timeout.TotalMilliseconds))
            throw new TimeoutException($"the child did not exit in {timeout.TotalSeconds} s");
        Process.WaitForExit();
        return Process.ExitCode;
    }

    public void Dispose()
    {
        try
        {
            if (!Process.HasExited)
                Process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
        }
        Process.Dispose();
    }

    private static Dictionary<string, ulong> Fields(string line) =>
        line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(f => f.Split('='))
            .ToDictionary(kv => kv[0], kv => ulong.Parse(kv[1], CultureInfo.InvariantCulture));
}
