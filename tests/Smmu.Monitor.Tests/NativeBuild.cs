using System.Diagnostics;

namespace Smmu.Monitor.Tests;

/// <summary>
/// libsmmu.so and tests/native/workload.c built against it, once for the test run. The library is
/// <c>$SMMU_LIB_DIR/libsmmu.so</c> when tests/run-all.sh published it already, else a publish of
/// src/Smmu.Interop into a temporary directory (a minute or two).
/// </summary>
public sealed class NativeBuild : IDisposable
{
    private readonly string? _tempDir;

    public NativeBuild()
    {
        Repo = FindRepo();
        string? libDir = Environment.GetEnvironmentVariable("SMMU_LIB_DIR");
        string work = Path.Combine(Path.GetTempPath(), $"smmu-monitor-tests-{Environment.ProcessId}");
        Directory.CreateDirectory(work);
        _tempDir = work;
        if (string.IsNullOrEmpty(libDir) || !File.Exists(Path.Combine(libDir, "libsmmu.so")))
        {
            libDir = Path.Combine(work, "lib");
            Run("dotnet", ["publish", Path.Combine(Repo, "src", "Smmu.Interop"), "-c", "Release", "-o", libDir, "-nologo"], TimeSpan.FromMinutes(10));
        }
        LibDir = Path.GetFullPath(libDir);
        Workload = Path.Combine(work, "workload");
        Run("gcc", ["-std=c99", "-D_POSIX_C_SOURCE=200809L", "-Wall", "-Wextra", "-Werror", "-O2",
                    "-I" + Path.Combine(Repo, "native-headers"), Path.Combine(Repo, "tests", "native", "workload.c"),
                    "-o", Workload, "-L" + LibDir, "-lsmmu", "-Wl,-rpath," + LibDir], TimeSpan.FromMinutes(2));
    }

    /// <summary>The repository's root (where Smmu.sln is).</summary>
    public string Repo { get; }

    /// <summary>The directory with libsmmu.so.</summary>
    public string LibDir { get; }

    /// <summary>The built C workload.</summary>
    public string Workload { get; }

    public void Dispose()
    {
        if (_tempDir is not null)
        {
            try
            {
                Directory.Delete(_tempDir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    internal static string FindRepo()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Smmu.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException("Smmu.sln not found above " + AppContext.BaseDirectory);
    }

    private static void Run(string file, string[] args, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
            start.ArgumentList.Add(a);
        using Process p = Process.Start(start)!;
        Task<string> output = p.StandardOutput.ReadToEndAsync();
        Task<string> errors = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit((int)timeout.TotalMilliseconds))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in {timeout}");
        }
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({p.ExitCode}):\n{output.Result}\n{errors.Result}");
    }
}

[CollectionDefinition(Name)]
public sealed class NativeCollection : ICollectionFixture<NativeBuild>
{
    public const string Name = "native";
}
