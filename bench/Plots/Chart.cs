using System.Globalization;
using ScottPlot;

namespace Smmu.Bench.Plots;

/// <summary>One line of a chart: a name for the legend and its points.</summary>
internal sealed record Series(string Name, double[] Xs, double[] Ys);

/// <summary>
/// Draws a line chart with a logarithmic x axis as a PNG. ScottPlot 5 has no log axis type: the x values
/// are plotted as log10(x) and the ticks are placed by hand at the given x values, labelled linearly.
/// </summary>
internal static class Chart
{
    private const int Width = 960;
    private const int Height = 600;

    /// <param name="marker">An optional dashed vertical line (x and its label), e.g. the TLB's capacity.</param>
    public static void SaveLogX(string path, string title, string xLabel, string yLabel, IReadOnlyList<Series> series,
                                IEnumerable<double> xTicks, (double X, string Label)? marker = null)
    {
        var plot = new Plot();
        foreach (Series s in series)
        {
            var scatter = plot.Add.Scatter(s.Xs.Select(Math.Log10).ToArray(), s.Ys);
            scatter.LegendText = s.Name;
            scatter.LineWidth = 2;
            scatter.MarkerSize = 6;
        }
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        foreach (double x in xTicks)
            ticks.AddMajor(Math.Log10(x), x.ToString("#,0", CultureInfo.InvariantCulture));
        plot.Axes.Bottom.TickGenerator = ticks;
        if (marker is { } m)
        {
            var line = plot.Add.VerticalLine(Math.Log10(m.X));
            line.LinePattern = LinePattern.Dashed;
            line.Color = Colors.Gray;
            line.LegendText = m.Label;
        }
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend(Alignment.UpperLeft);
        plot.Axes.AutoScale();
        AxisLimits limits = plot.Axes.GetLimits();
        plot.Axes.SetLimitsY(0, limits.Top);   // ns from zero: the ratio between series is what matters
        plot.SavePng(path, Width, Height);
    }
}
