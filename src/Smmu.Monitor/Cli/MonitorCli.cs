using System.Diagnostics;
using System.Globalization;
using Microsoft.Diagnostics.NETCore.Client;
using Smmu.Monitor.Attach;
using Smmu.Monitor.Output;
using Smmu.Monitor.Session;
using Spectre.Console;

namespace Smmu.Monitor.Cli;

/// <summary>The commands of smmu-monitor (<see cref="CommandLine.Usage"/>), writing to the given streams.</summary>
public static class MonitorCli
{
    /// <summary>
    /// Runs one command line. Data (tables, csv, json, faults) go to <paramref name="stdout"/>, messages to
    /// <paramref name="stderr"/>; returns the exit status (<see cref="ExitCodes"/>).
    /// </summary>
    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        try
        {
            CommandLine cl = CommandLine.Parse(args);
            switch (cl.Command)
            {
                case "help":
                    stdout.WriteLine(CommandLine.Usage);
                    return ExitCodes.Ok;
                case "ps":
                    return Ps(stdout);
                default:
                    return await WatchAsync(cl, stdout, stderr, cancel);
            }
        }
        catch (MonitorException e)
        {
            stderr.WriteLine($"smmu-monitor: {e.Message}");
            return e.ExitCode;
        }
    }

    private static int Ps(TextWriter stdout)
    {
        IReadOnlyList<DotNetProcess> processes = ProcessProbe.List();
        stdout.WriteLine($"{"PID",7}  {"SMMU",-4}  {"NAME",-15}  COMMAND");
        foreach (DotNetProcess p in processes)
        {
            string model = p.ModelLoaded switch { true => "yes", false => "-", null => "?" };
            string command = p.CommandLine.Length > 100 ? p.CommandLine[..97] + "..." : p.CommandLine;
            stdout.WriteLine($"{p.Pid,7}  {model,-4}  {p.Name,-15}  {command}");
        }
        return ExitCodes.Ok;
    }

    private static async Task<int> WatchAsync(CommandLine cl, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        Process? launched = null;
        Task copyOutput = Task.CompletedTask;
        int pid;
        if (cl.Program is { } program)
        {
            var start = new ProcessStartInfo(program[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string arg in program.Skip(1))
                start.ArgumentList.Add(arg);
            launched = Launcher.StartSuspended(start, cancel);
            pid = launched.Id;
            copyOutput = CopyChildOutput(launched, cl.ChildOutput, stderr);
        }
        else
        {
            pid = cl.Pid!.Value;
            ProcessProbe.CheckAttachable(pid, cl.ModelCheck);
        }
        try
        {
            SmmuSession session;
            try
            {
                bool monitor = cl.Command == "monitor";
                session = SmmuSession.Start(pid, new SessionOptions(TimeSpan.FromSeconds(cl.Interval), Metrics: monitor, Faults: !monitor));
            }
            catch (Exception e) when (e is ServerNotAvailableException or IOException or TimeoutException or UnauthorizedAccessException)
            {
                if (!ProcessProbe.Exists(pid))
                    throw new MonitorException(ExitCodes.ProcessGone, $"process {pid} exited before the session started");
                throw new MonitorException(ExitCodes.NotDotNet, $"cannot open an EventPipe session with process {pid}: {e.Message}");
            }
            catch (ServerErrorException e)
            {
                throw new MonitorException(ExitCodes.SessionFailed, $"process {pid} refused the EventPipe session: {e.Message}");
            }
            using (session)
            {
                if (launched is not null)
                    Launcher.Resume(pid);
                string name = ProcessProbe.NameOf(pid);
                stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"smmu-monitor: watching process {pid} ({name}){(cl.Duration is { } d ? $" for {d} s" : "")}; Ctrl+C stops"));
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
                if (cl.Duration is { } seconds)
                    stop.CancelAfter(TimeSpan.FromSeconds(seconds));
                string title = $"smmu-monitor: process {pid} ({name})";
                int status = cl.Command == "faults"
                    ? await PumpAsync(session, new FaultOutput(stdout, pid, cl.Format == "json").Write, null, stderr, stop.Token)
                    : await MonitorAsync(cl, session, title, stdout, stderr, stop.Token);
                if (status == ExitCodes.ProcessGone && launched is not null)
                {
                    await launched.WaitForExitAsync(CancellationToken.None);
                    await copyOutput;
                    stderr.WriteLine($"smmu-monitor: {cl.Program![0]} exited with status {launched.ExitCode}");
                    return launched.ExitCode;
                }
                if (status == ExitCodes.ProcessGone)
                    stderr.WriteLine($"smmu-monitor: process {pid} exited");
                return status;
            }
        }
        finally
        {
            if (launched is not null)
            {
                Launcher.Kill(launched);   // as dotnet-trace and dotnet-counters do with a program they started
                launched.Dispose();
            }
        }
    }

    private static async Task<int> MonitorAsync(CommandLine cl, SmmuSession session, string title, TextWriter stdout, TextWriter stderr, CancellationToken stop)
    {
        switch (cl.Format)
        {
            case "csv":
                return await PumpAsync(session, null, new CsvOutput(stdout, session.ProcessId), stderr, stop);
            case "json":
                return await PumpAsync(session, null, new JsonOutput(stdout, session.ProcessId), stderr, stop);
        }
        bool terminal = ReferenceEquals(stdout, Console.Out) && !Console.IsOutputRedirected;
        if (!terminal)
        {
            IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No,
                Out = new AnsiConsoleOutput(stdout),
            });
            console.Profile.Width = 160;
            return await PumpAsync(session, null, new TableOutput(console, title, null), stderr, stop);
        }
        int status = ExitCodes.Ok;
        await AnsiConsole.Live(TableOutput.Waiting(title)).AutoClear(false).StartAsync(async live =>
        {
            var output = new TableOutput(AnsiConsole.Console, title, table =>
            {
                live.UpdateTarget(table);
                live.Refresh();
            });
            status = await PumpAsync(session, null, output, stderr, stop);
        });
        return status;
    }

    /// <summary>
    /// Hands each event to its output until <paramref name="stop"/> (Ok), the session ends (ProcessGone), or a
    /// fatal session error (SessionFailed).
    /// </summary>
    private static async Task<int> PumpAsync(SmmuSession session, Action<FaultEvent>? faults, IIntervalOutput? intervals, TextWriter stderr, CancellationToken stop)
    {
        try
        {
            await foreach (SessionEvent e in session.Events.ReadAllAsync(stop))
            {
                if (!Deliver(e))
                    return stop.IsCancellationRequested ? ExitCodes.Ok : ExitCodes.SessionFailed;
            }
            // Ctrl+C in a terminal also stops a launched program (same process group): still the user's stop.
            return stop.IsCancellationRequested ? ExitCodes.Ok : ExitCodes.ProcessGone;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stop the session and show what the process had already sent (intervals and faults still in its buffers).
            session.Stop();
            using var drain = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            try
            {
                await foreach (SessionEvent e in session.Events.ReadAllAsync(drain.Token))
                {
                    if (!Deliver(e))
                        break;
                }
            }
            catch (OperationCanceledException)
            {
                // the process did not close the stream in time: what arrived was shown
            }
            return ExitCodes.Ok;
        }

        bool Deliver(SessionEvent e)
        {
            switch (e)
            {
                case IntervalCollected c when intervals is not null:
                    intervals.Write(c.Interval);
                    break;
                case FaultRaised f when faults is not null:
                    faults(f.Fault);
                    break;
                case SessionError error:
                    if (error.Fatal && stop.IsCancellationRequested)
                        return false;   // stopping anyway (Ctrl+C also hit a launched program): not worth a message
                    stderr.WriteLine($"smmu-monitor: {error.Message}");
                    return !error.Fatal;
            }
            return true;
        }
    }

    private static Task CopyChildOutput(Process child, string? file, TextWriter stderr)
    {
        TextWriter sink = file is null ? stderr : new StreamWriter(file, append: false) { AutoFlush = true };
        var gate = new Lock();
        async Task Copy(StreamReader from)
        {
            while (await from.ReadLineAsync() is { } line)
            {
                lock (gate)
                    sink.WriteLine(line);
            }
        }
        Task both = Task.WhenAll(Copy(child.StandardOutput), Copy(child.StandardError));
        return file is null ? both : both.ContinueWith(_ => sink.Dispose(), TaskScheduler.Default);
    }
}
