using Smmu.Monitor.Session;

namespace Smmu.Monitor.Tests;

/// <summary>
/// The instruments and fault events of a live child reach an EventPipe session — from a C# program
/// using Smmu.Core and from a C program linked with libsmmu.so — and agree with what the child itself
/// reports through <c>GetStats</c> and its fault handler.
/// </summary>
public abstract class LiveChildTests
{
    private protected static void AssertObservation(Observation o)
    {
        Assert.Empty(o.Errors);
        Assert.Equal(0, o.ChildExitCode);
        Assert.Equal([1, 2], o.ChildStats.Keys.Order());
        Assert.True(o.Intervals.Count >= 3, $"only {o.Intervals.Count} intervals");

        // Every instrument arrived for both instances, in every interval after the instances existed.
        foreach (MetricsInterval interval in o.Intervals.Where(i => i.Instances.Count > 0))
        {
            Assert.Equal([1, 2], interval.Instances.Select(i => i.Instance));
            foreach (InstanceSample sample in interval.Instances)
            {
                // The hit ratio has no value before the first lookup (0/0); every other instrument always has one.
                bool looked = sample.Values["smmu.tlb.hits"].Value + sample.Values["smmu.tlb.misses"].Value > 0;
                Assert.All(Observation.AllInstruments.Where(n => looked || n != "smmu.tlb.hit_ratio"),
                           name => Assert.True(sample.Values.ContainsKey(name), $"{name} missing for instance {sample.Instance}"));
            }
            Assert.Equal(Observation.AllInstruments.Order(), interval.Instruments.Select(i => i.Name).Order());
        }

        // The last interval equals the child's own final statistics, field by field.
        MetricsInterval last = o.Intervals[^1];
        foreach ((int id, Dictionary<string, ulong> stats) in o.ChildStats)
        {
            InstanceSample sample = last.Instances.Single(i => i.Instance == id);
            foreach ((string field, string instrument) in Observation.StatInstruments)
                Assert.True(stats[field] == sample.Values[instrument].Value, $"instance {id}: {instrument} = {sample.Values[instrument].Value}, the child says {field} = {stats[field]}");
            double ratio = (double)stats["tlb_hits"] / (stats["tlb_hits"] + stats["tlb_misses"]);
            Assert.Equal(ratio, sample.Values["smmu.tlb.hit_ratio"].Value, 12);
        }

        // Counters only grow, and each interval's reported increase is the difference of the totals.
        foreach (int id in o.ChildStats.Keys)
        {
            var samples = o.Intervals.Select(i => i.Instances.FirstOrDefault(s => s.Instance == id)).OfType<InstanceSample>().ToList();
            Assert.True(samples.Count >= 3, $"instance {id} in only {samples.Count} intervals");
            foreach (string counter in Observation.StatInstruments.Select(s => s.Instrument).Where(n => !n.StartsWith("smmu.pt.", StringComparison.Ordinal)))
            {
                for (int k = 1; k < samples.Count; k++)
                {
                    InstrumentValue before = samples[k - 1].Values[counter], now = samples[k].Values[counter];
                    Assert.True(now.Value >= before.Value, $"{counter} went down");
                    if (now.Delta is { } delta)
                        Assert.Equal(now.Value - before.Value, delta);
                }
            }
            // The workload ran while the session listened: some interval saw translations happen.
            Assert.Contains(samples.Skip(1), s => s.Values["smmu.translations"].Delta > 0);
        }

        // Each fault is an event with exactly the fields of the record the child's handler got.
        Assert.Equal(3, o.ChildFaults.Count);
        Assert.Equal(o.ChildFaults.Count, o.Faults.Count);
        for (int k = 0; k < o.Faults.Count; k++)
        {
            Dictionary<string, ulong> want = o.ChildFaults[k];
            FaultEvent got = o.Faults[k];
            Assert.Equal(want["instance"], (ulong)got.Instance);
            Assert.Equal(want["stream_id"], got.StreamId);
            Assert.Equal(want["context_bank"], got.ContextBank);
            Assert.Equal(want["asid"], got.Asid);
            Assert.Equal(want["active_domain"], got.ActiveDomain);
            Assert.Equal(want["iova"], got.Iova);
            Assert.Equal(want["access"], got.Access);
            Assert.Equal(want["type"], got.Type);
            Assert.Equal(want["level"], got.Level);
            Assert.Equal(want["fsr"], got.Fsr);
            Assert.Equal(want["fsynr0"], got.Fsynr0);
        }
    }
}

/// <summary>A C# program using Smmu.Core (CoreCLR).</summary>
public sealed class ManagedChildTests : LiveChildTests
{
    [Fact]
    public async Task Attached_session_gets_every_instrument_and_each_fault_of_a_managed_child()
    {
        AssertObservation(await Observation.RunAsync(Child.Managed("--faults"), launch: false));
    }

    [Fact]
    public async Task A_managed_child_may_exit_while_watched_and_the_session_ends()
    {
        var (exit, ended, intervals) = await Observation.ExitWhileWatchedAsync(Child.Managed());
        Assert.Equal(0, exit);
        Assert.True(ended);
        Assert.True(intervals > 0);
    }

    [Fact]
    public async Task Launched_suspended_managed_child_is_watched_from_its_start()
    {
        AssertObservation(await Observation.RunAsync(Child.Managed("--faults"), launch: true));
    }
}

/// <summary>A C program linked with libsmmu.so (NativeAOT, no .NET installed besides the library).</summary>
[Collection(NativeCollection.Name)]
public sealed class NativeChildTests(NativeBuild build) : LiveChildTests
{
    [Fact]
    public async Task Attached_session_gets_every_instrument_and_each_fault_of_a_C_child()
    {
        AssertObservation(await Observation.RunAsync(NativeStart(), launch: false, AssertNoInstalledRuntime));
    }

    /// <summary>The C program exits with the library's EventPipe session still open: it exits cleanly, the session ends.</summary>
    [Fact]
    public async Task A_C_child_may_exit_while_watched_and_the_session_ends()
    {
        var (exit, ended, intervals) = await Observation.ExitWhileWatchedAsync(NativeStart());
        Assert.Equal(0, exit);
        Assert.True(ended);
        Assert.True(intervals > 0);
    }

    [Fact]
    public async Task Launched_suspended_C_child_is_watched_from_its_first_smmu_call()
    {
        AssertObservation(await Observation.RunAsync(NativeStart(), launch: true, AssertNoInstalledRuntime));
    }

    /// <summary>The only .NET in the C child is libsmmu.so: no CoreCLR, no host, nothing of the installed SDK.</summary>
    private void AssertNoInstalledRuntime(int pid)
    {
        string[] files = [.. File.ReadLines($"/proc/{pid}/maps").Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(f => f.Length >= 6).Select(f => f[5]).Distinct()];
        Assert.Contains(Path.Combine(build.LibDir, "libsmmu.so"), files);
        Assert.DoesNotContain(files, f => f.Contains("coreclr", StringComparison.OrdinalIgnoreCase) || f.Contains("hostfxr", StringComparison.OrdinalIgnoreCase)
                                          || f.Contains("/dotnet/", StringComparison.Ordinal) || f.EndsWith(".dll", StringComparison.Ordinal));
    }

    /// <summary>The C child, with no trace of a .NET installation in its environment.</summary>
    private System.Diagnostics.ProcessStartInfo NativeStart()
    {
        var start = Child.Native(build, "--faults");
        foreach (string name in start.Environment.Keys.Where(k => k.StartsWith("DOTNET_", StringComparison.Ordinal) || k == "PATH").ToList())
            start.Environment.Remove(name);
        start.Environment["PATH"] = "/usr/bin:/bin";
        return start;
    }
}
