using System.Globalization;
using Smmu.Monitor.Session;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Smmu.Monitor.Output;

/// <summary>
/// <c>--format table</c>: every instrument (rows) of every instance (columns: the value, and for counts
/// the change per second), drawn with Spectre.Console. On a terminal it is redrawn in place each interval
/// (<see cref="LiveDisplay"/>); otherwise each interval's table is printed after the previous one.
/// </summary>
internal sealed class TableOutput(IAnsiConsole console, string title, Action<IRenderable>? update) : IIntervalOutput
{
    public void Write(MetricsInterval interval)
    {
        IRenderable table = Build(title, interval);
        if (update is not null)
            update(table);
        else
        {
            console.Write(table);
            console.WriteLine();
        }
    }

    /// <summary>What shows before the first interval arrives.</summary>
    public static IRenderable Waiting(string title) =>
        new Rows(new Markup(Markup.Escape(title)), new Markup("[grey]waiting for the first interval…[/]"));

    /// <summary>One interval: a title line (outside the table, so a narrow table never wraps it), then the table.</summary>
    public static IRenderable Build(string title, MetricsInterval interval) =>
        new Rows(new Markup($"{Markup.Escape(title)}  [grey]{interval.End.ToLocalTime():HH:mm:ss}, every {interval.Seconds:0.0#} s[/]"), BuildTable(interval));

    private static Table BuildTable(MetricsInterval interval)
    {
        var table = new Table()
            .Border(TableBorder.Rounded)
            .AddColumn("instrument")
            .AddColumn("unit");
        if (interval.Instances.Count == 0)
        {
            table.AddRow(new Markup("[grey]no SMMU instance (yet)[/]"), new Text(""));
            return table;
        }
        foreach (InstanceSample s in interval.Instances)
        {
            table.AddColumn(new TableColumn($"instance {s.Instance}").RightAligned());
            table.AddColumn(new TableColumn("/s").RightAligned());
        }
        foreach (InstrumentInfo instrument in interval.Instruments)
        {
            var cells = new List<IRenderable> { new Text(instrument.Name), new Markup($"[grey]{Markup.Escape(instrument.Unit)}[/]") };
            foreach (InstanceSample s in interval.Instances)
            {
                if (!s.Values.TryGetValue(instrument.Name, out InstrumentValue v))
                {
                    cells.Add(new Text("-"));
                    cells.Add(new Text(""));
                    continue;
                }
                bool ratio = instrument.Unit == "1";
                cells.Add(new Text(ratio ? v.Value.ToString("P2", CultureInfo.InvariantCulture) : FormatCount(v.Value)));
                cells.Add(new Markup(v.Delta is { } d && !ratio ? $"[green]{FormatCount(d / interval.Seconds)}[/]" : ""));
            }
            table.AddRow(cells);
        }
        return table;
    }

    private static string FormatCount(double value) =>
        value == Math.Floor(value) ? value.ToString("N0", CultureInfo.InvariantCulture) : value.ToString("N1", CultureInfo.InvariantCulture);
}
