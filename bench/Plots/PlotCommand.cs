using System.Diagnostics;
using Smmu.Bench.Fixtures;

namespace Smmu.Bench.Plots;

/// <summary><c>plots [outdir]</c>: the scaling sweeps, each drawn as a PNG with its numbers in a CSV beside it.</summary>
internal static class PlotCommand
{
    public static int Run(string? outputDirectory, TextWriter output)
    {
        string directory = Path.GetFullPath(outputDirectory ?? Path.Combine(RepositoryRoot(), "docs", "plots"));
        Directory.CreateDirectory(directory);
        output.WriteLine($"Plots into {directory}");
        output.WriteLine($"Timing: a plain Stopwatch harness (best of {SwitchMeasurement.Rounds} runs per point, spread over the sweep, after warm-up), " +
                         "not BenchmarkDotNet, to keep the sweeps short. Read the shapes; quote BenchmarkDotNet for absolute numbers.");
        long start = Stopwatch.GetTimestamp();
        try
        {
            Check.That(JitWarmup.Run(TimeSpan.FromSeconds(1)) == 0, "a translated PA did not match its domain's mapping");
            output.WriteLine("(a) working set -> working-set.png");
            WorkingSetPlot.Draw(directory, output);
            output.WriteLine("(b) dynamic domains -> domains.png");
            DomainCountPlot.Draw(directory, output);
            output.WriteLine("(c) TLB geometry -> tlb-entries.png, tlb-ways.png");
            TlbGeometryPlot.Draw(directory, output);
        }
        catch (InvalidOperationException e)
        {
            output.WriteLine($"FAILED: {e.Message}");
            return 1;
        }
        output.WriteLine($"done in {Stopwatch.GetElapsedTime(start).TotalSeconds:F0} s");
        return 0;
    }

    /// <summary>The directory holding Smmu.sln at or above the current one; else the current one.</summary>
    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Smmu.sln")))
                return dir.FullName;
        }
        return Directory.GetCurrentDirectory();
    }
}
