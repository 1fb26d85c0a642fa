using System.Diagnostics;
using System.Text.Json;
using Smmu.Monitor.Cli;
using Smmu.Monitor.Session;

namespace Smmu.Monitor.Tests;

/// <summary>smmu-monitor's command line: exit statuses and messages, and the csv/json/faults outputs.</summary>
public sealed class CommandLineTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static async Task<(int Status, string Out, string Err)> Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int status = await MonitorCli.RunAsync(args, stdout, stderr, CancellationToken.None);
        return (status, stdout.ToString(), stderr.ToString());
    }

    [Theory]
    [InlineData("monitor")]
    [InlineData("faults")]
    public async Task A_pid_that_does_not_exist_is_exit_3_with_a_message(string command)
    {
        int pid;
        using (Process gone = Process.Start("true")!)
        {
            gone.WaitForExit();
            pid = gone.Id;
        }
        var (status, output, errors) = await Run(command, "--pid", pid.ToString());
        Assert.Equal(ExitCodes.ProcessGone, status);
        Assert.Contains($"no process with id {pid}", errors);
        Assert.Equal("", output);
    }

    [Fact]
    public async Task A_process_that_is_not_dotnet_is_exit_4_with_a_message()
    {
        using Process sleep = Process.Start("sleep", "60")!;
        try
        {
            var (status, _, errors) = await Run("monitor", "--pid", sleep.Id.ToString(), "--duration", "1");
            Assert.Equal(ExitCodes.NotDotNet, status);
            Assert.Contains("has no .NET diagnostics endpoint", errors);
        }
        finally
        {
            sleep.Kill();
        }
    }

    [Fact]
    public async Task A_dotnet_process_without_the_model_is_exit_5_with_a_message()
    {
        using Child idle = Child.Start(Child.Managed("--idle"));
        idle.WaitFor("READY", Patience);
        await WaitForEndpoint(idle.Pid);
        var (status, _, errors) = await Run("faults", "--pid", idle.Pid.ToString(), "--duration", "1");
        Assert.Equal(ExitCodes.NoModel, status);
        Assert.Contains("has not loaded the SMMU model", errors);

        var (ps, listing, _) = await Run("ps");
        Assert.Equal(ExitCodes.Ok, ps);
        Assert.Matches($@"(?m)^\s*{idle.Pid}\s+-\s", listing);
    }

    [Theory]
    [InlineData(new[] { "monitor" }, "needs either --pid N or -- PROGRAM")]
    [InlineData(new[] { "monitor", "--pid", "abc" }, "--pid needs a process id")]
    [InlineData(new[] { "monitor", "--pid", "1", "--", "x" }, "needs either --pid N or -- PROGRAM")]
    [InlineData(new[] { "monitor", "--pid", "1", "--format", "xml" }, "--format is one of table, csv, json")]
    [InlineData(new[] { "faults", "--pid", "1", "--format", "csv" }, "--format is one of text, json")]
    [InlineData(new[] { "monitor", "--pid", "1", "--interval", "0" }, "--interval needs a number of seconds")]
    [InlineData(new[] { "frob" }, "unknown command 'frob'")]
    public async Task A_bad_command_line_is_exit_2_with_what_is_wrong(string[] args, string message)
    {
        var (status, _, errors) = await Run(args);
        Assert.Equal(ExitCodes.Usage, status);
        Assert.Contains(message, errors);
    }

    [Fact]
    public async Task Help_is_exit_0()
    {
        var (status, output, _) = await Run("--help");
        Assert.Equal(ExitCodes.Ok, status);
        Assert.Contains("smmu-monitor monitor (--pid N | -- PROGRAM", output);
    }

    /// <summary>The command as docs/monitoring.md writes it, run as a process: JSON lines on stdout, exit 0.</summary>
    [Fact]
    public async Task Monitor_json_with_a_duration_prints_one_object_per_interval_and_exits_0()
    {
        using Child child = Child.Start(Child.Managed());
        child.WaitFor("READY", Patience);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { Path.Combine(AppContext.BaseDirectory, "smmu-monitor.dll"), "monitor", "--pid", child.Pid.ToString(), "--format", "json", "--duration", "4" })
            start.ArgumentList.Add(a);
        using Process monitor = Process.Start(start)!;
        Task<string> output = monitor.StandardOutput.ReadToEndAsync();
        Task<string> errors = monitor.StandardError.ReadToEndAsync();
        child.Send("go");
        child.WaitFor("DONE", Patience);
        Assert.True(monitor.WaitForExit(60_000), "smmu-monitor did not stop after --duration 4");
        monitor.WaitForExit();
        Assert.True(monitor.ExitCode == 0, $"exit {monitor.ExitCode}: {await errors}");
        string[] lines = (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.InRange(lines.Length, 2, 6);   // about one per second; a loaded machine delays a collection or two
        foreach (string line in lines)
        {
            using JsonDocument doc = JsonDocument.Parse(line);
            Assert.Equal(child.Pid, doc.RootElement.GetProperty("pid").GetInt32());
            int[] instances = [.. doc.RootElement.GetProperty("instances").EnumerateArray().Select(i => i.GetProperty("instance").GetInt32())];
            Assert.Equal([1, 2], instances);
            foreach (JsonElement i in doc.RootElement.GetProperty("instances").EnumerateArray())
                Assert.All(Observation.AllInstruments.Where(n => n != "smmu.tlb.hit_ratio" || i.GetProperty("smmu.translations").GetInt64() > 0),
                           name => Assert.True(i.TryGetProperty(name, out _), name));
        }
        child.Finish(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Csv_is_a_header_then_a_row_per_instance_per_interval_and_faults_json_has_every_field()
    {
        using Child child = Child.Start(Child.Managed("--faults"));
        child.WaitFor("READY", Patience);
        await WaitForEndpoint(child.Pid);
        var (ps, listing, _) = await Run("ps");
        Assert.Equal(ExitCodes.Ok, ps);
        Assert.Matches($@"(?m)^\s*{child.Pid}\s+yes\s", listing);

        Task<(int, string, string)> csv = Run("monitor", "--pid", child.Pid.ToString(), "--format", "csv", "--interval", "0.5", "--duration", "3.5");
        Task<(int, string, string)> faults = Run("faults", "--pid", child.Pid.ToString(), "--format", "json", "--duration", "3.5");
        await Task.Delay(1500);   // both sessions are up: the faults happen after this
        child.Send("go");
        child.WaitFor("DONE", Patience);

        var (csvStatus, csvOut, csvErr) = await csv;
        Assert.True(csvStatus == 0, csvErr);
        string[] rows = csvOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string[] header = rows[0].Split(',');
        Assert.Equal(["time", "pid", "instance"], header[..3]);
        Assert.All(Observation.AllInstruments, name => Assert.Contains(name, header));
        Assert.Contains("smmu.translations/s", header);
        Assert.True(rows.Length >= 1 + 2 * 3, $"{rows.Length - 1} rows");
        Assert.Equal((rows.Length - 1) / 2 * 2, rows.Length - 1);
        for (int r = 1; r < rows.Length; r++)
        {
            string[] cells = rows[r].Split(',');
            Assert.Equal(header.Length, cells.Length);
            Assert.Equal(child.Pid.ToString(), cells[1]);
            Assert.Equal(r % 2 == 1 ? "1" : "2", cells[2]);
        }

        var (faultStatus, faultOut, faultErr) = await faults;
        Assert.True(faultStatus == 0, faultErr);
        string[] lines = faultOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(child.Faults.Count, lines.Length);
        for (int k = 0; k < lines.Length; k++)
        {
            using JsonDocument doc = JsonDocument.Parse(lines[k]);
            JsonElement f = doc.RootElement;
            foreach ((string field, ulong want) in child.Faults[k])
                Assert.Equal(want, f.GetProperty(field).GetUInt64());
            Assert.Equal(FaultEvent.TypeNames[(uint)child.Faults[k]["type"]], f.GetProperty("type_name").GetString());
        }
        child.Finish(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public void Fault_type_names_are_the_models()
    {
        foreach (Smmu.Core.FaultType type in Enum.GetValues<Smmu.Core.FaultType>().Where(t => t != Smmu.Core.FaultType.None))
        {
            string snake = string.Concat(type.ToString().Select((c, i) => i > 0 && char.IsUpper(c) ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
            Assert.Equal(snake, FaultEvent.TypeNames[(uint)type]);
        }
    }

    [Theory]
    [InlineData("instance=3", true, 3)]
    [InlineData("a=b,instance=12", true, 12)]
    [InlineData("", false, 0)]
    [InlineData("instances=3", false, 0)]
    public void Instance_tags_are_found_in_the_bridge_tag_list(string tags, bool found, int instance)
    {
        Assert.Equal(found, SmmuSession.TryInstance(tags, out int id));
        Assert.Equal(instance, id);
    }

    private static async Task WaitForEndpoint(int pid)
    {
        var clock = Stopwatch.StartNew();
        while (!Attach.ProcessProbe.HasDiagnosticsEndpoint(pid))
        {
            Assert.True(clock.Elapsed < Patience, $"process {pid} published no diagnostics endpoint");
            await Task.Delay(50);
        }
    }
}
