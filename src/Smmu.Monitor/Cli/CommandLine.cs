using System.Globalization;

namespace Smmu.Monitor.Cli;

/// <summary>A parsed command line (see <see cref="Usage"/>).</summary>
/// <param name="Command"><c>ps</c>, <c>monitor</c>, <c>faults</c> or <c>help</c>.</param>
/// <param name="Pid">The process to attach to (<c>--pid</c>).</param>
/// <param name="Program">The program and arguments to launch (after <c>--</c>).</param>
/// <param name="Interval">Seconds between collections.</param>
/// <param name="Duration">Seconds to watch; null: until Ctrl+C or the process exits.</param>
/// <param name="Format"><c>table</c>, <c>csv</c>, <c>json</c> (monitor); <c>text</c>, <c>json</c> (faults).</param>
/// <param name="ModelCheck">Refuse a process that has not loaded Smmu.Core.dll or libsmmu.so.</param>
/// <param name="ChildOutput">A launched program's stdout and stderr go to this file (null: to our stderr).</param>
public sealed record CommandLine(
    string Command, int? Pid, IReadOnlyList<string>? Program, double Interval, double? Duration, string Format,
    bool ModelCheck, string? ChildOutput)
{
    /// <summary>The help text.</summary>
    public const string Usage = """
        smmu-monitor — watch a live process that runs the SMMU model (C# with Smmu.Core, or C with libsmmu.so)

          smmu-monitor ps
              the processes with a .NET diagnostics endpoint; SMMU = yes where the model is loaded
          smmu-monitor monitor (--pid N | -- PROGRAM [ARGS...]) [--interval S] [--duration S] [--format table|csv|json]
              every instrument of the Smmu meter per instance, every interval (default 1 s), until Ctrl+C,
              the duration, or the process's end. With -- PROGRAM: start it paused, attach, then let it run.
              table: redrawn in place; csv: a header, then a row per instance per interval; json: one object per
              line per interval (csv and json on stdout; messages on stderr)
          smmu-monitor faults (--pid N | -- PROGRAM [ARGS...]) [--duration S] [--format text|json]
              each fault as it is raised, one line each

          --no-model-check      attach even if neither Smmu.Core.dll nor libsmmu.so is mapped (NativeAOT/single-file apps)
          --child-output FILE   a launched PROGRAM's stdout and stderr go to FILE (default: to stderr)

        exit status: 0 done, 1 unexpected error, 2 bad command line, 3 no such process (or it exited while watched),
                     4 not a .NET process (no diagnostics endpoint), 5 no SMMU model loaded, 6 the session failed;
                     with -- PROGRAM, the program's own status when it exits first
        """;

    /// <summary>Parses <paramref name="args"/>; throws <see cref="MonitorException"/> (<see cref="ExitCodes.Usage"/>) with what is wrong.</summary>
    public static CommandLine Parse(IReadOnlyList<string> args)
    {
        if (args.Count == 0 || args[0] is "help" or "--help" or "-h")
            return new CommandLine("help", null, null, 1, null, "", true, null);
        string command = args[0];
        if (command is not ("ps" or "monitor" or "faults"))
            throw Bad($"unknown command '{command}'");
        int? pid = null;
        List<string>? program = null;
        double interval = 1;
        double? duration = null;
        string? format = null;
        bool modelCheck = true;
        string? childOutput = null;
        for (int i = 1; i < args.Count; i++)
        {
            string a = args[i];
            switch (a)
            {
                case "--":
                    program = [.. args.Skip(i + 1)];
                    if (program.Count == 0)
                        throw Bad("-- must be followed by the program to run");
                    i = args.Count;
                    break;
                case "--pid" or "-p":
                    string p = Value(args, ref i);
                    pid = int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : throw Bad($"--pid needs a process id, not '{p}'");
                    break;
                case "--interval":
                    interval = Seconds(args, ref i, a);
                    if (interval < 0.1)
                        throw Bad("--interval must be at least 0.1 s (the runtime's minimum)");
                    break;
                case "--duration":
                    duration = Seconds(args, ref i, a);
                    break;
                case "--format" or "-f":
                    format = Value(args, ref i).ToLowerInvariant();
                    break;
                case "--no-model-check":
                    modelCheck = false;
                    break;
                case "--child-output":
                    childOutput = Value(args, ref i);
                    break;
                default:
                    throw Bad($"unknown option '{a}'");
            }
        }
        if (command == "ps")
        {
            if (pid is not null || program is not null || format is not null)
                throw Bad("ps takes no options");
            return new CommandLine(command, null, null, interval, null, "table", modelCheck, null);
        }
        if ((pid is null) == (program is null))
            throw Bad($"{command} needs either --pid N or -- PROGRAM [ARGS...]");
        string[] formats = command == "monitor" ? ["table", "csv", "json"] : ["text", "json"];
        format ??= formats[0];
        if (command == "faults" && format == "table")
            format = "text";
        if (!formats.Contains(format))
            throw Bad($"{command} --format is one of {string.Join(", ", formats)}, not '{format}'");
        if (childOutput is not null && program is null)
            throw Bad("--child-output goes with -- PROGRAM");
        return new CommandLine(command, pid, program, interval, duration, format, modelCheck, childOutput);
    }

    private static string Value(IReadOnlyList<string> args, ref int i)
    {
        if (i + 1 >= args.Count)
            throw Bad($"{args[i]} needs a value");
        return args[++i];
    }

    private static double Seconds(IReadOnlyList<string> args, ref int i, string option)
    {
        string s = Value(args, ref i);
        return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v > 0 && double.IsFinite(v)
            ? v
            : throw Bad($"{option} needs a number of seconds > 0, not '{s}'");
    }

    private static MonitorException Bad(string message) => new(ExitCodes.Usage, message + " (smmu-monitor --help)");
}
