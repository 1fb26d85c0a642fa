using System.Diagnostics;
using Smmu.Monitor.Attach;
using Smmu.Monitor.Session;

namespace Smmu.Monitor.Tests;

/// <summary>
/// Runs a workload child under an <see cref="SmmuSession"/> — attached by pid once the child is up, or
/// launched suspended by <see cref="Launcher"/> — and keeps what the session delivered.
/// </summary>
internal sealed class Observation
{
    /// <summary>The child's STATS fields and the instrument each one must arrive as.</summary>
    public static readonly (string Field, string Instrument)[] StatInstruments =
    [
        ("translations", "smmu.translations"),
        ("tlb_hits", "smmu.tlb.hits"),
        ("tlb_misses", "smmu.tlb.misses"),
        ("walks", "smmu.walks"),
        ("faults", "smmu.faults"),
        ("switches", "smmu.switches"),
        ("tlb_invalidations", "smmu.tlb.invalidations"),
        ("tlb_entries_invalidated", "smmu.tlb.entries_invalidated"),
        ("pt_pages_in_use", "smmu.pt.pages_in_use"),
        ("pt_pages_free", "smmu.pt.pages_free"),
        ("stage2_walks", "smmu.stage2.walks"),
        ("descriptor_reads", "smmu.descriptor_reads"),
        ("vmid_invalidations", "smmu.vmid_invalidations"),
        ("stale_translations", "smmu.sanitizer.stale_translations"),
        ("missed_syncs", "smmu.sanitizer.missed_syncs"),
        ("needless_invalidations", "smmu.sanitizer.needless_invalidations"),
    ];

    /// <summary>Every instrument the Smmu meter publishes.</summary>
    public static readonly string[] AllInstruments = [.. StatInstruments.Select(s => s.Instrument), "smmu.tlb.hit_ratio"];

    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(0.5);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    public List<MetricsInterval> Intervals { get; } = [];
    public List<FaultEvent> Faults { get; } = [];
    public List<string> Errors { get; } = [];
    public required Dictionary<int, Dictionary<string, ulong>> ChildStats { get; init; }
    public required List<Dictionary<string, ulong>> ChildFaults { get; init; }
    public required int ChildExitCode { get; init; }

    /// <summary>
    /// Attaches to the child, lets it run and exit while the session is still open, and returns the
    /// child's exit code, whether the session ended by itself, and how many intervals it delivered.
    /// </summary>
    public static async Task<(int ExitCode, bool EndedByProcess, int Intervals)> ExitWhileWatchedAsync(ProcessStartInfo start)
    {
        using Child child = Child.Start(start);
        child.WaitFor("READY", Patience);
        using SmmuSession session = SmmuSession.Start(child.Pid, new SessionOptions(Interval));
        int intervals = 0;
        Task reader = Task.Run(async () =>
        {
            await foreach (SessionEvent e in session.Events.ReadAllAsync())
                intervals += e is IntervalCollected ? 1 : 0;
        });
        child.Send("go");
        child.WaitFor("DONE", Patience);
        int exit = child.Finish(Patience);
        await reader.WaitAsync(Patience);   // the stream ends with the process: no Stop() needed
        return (exit, session.EndedByProcess, intervals);
    }

    /// <summary>
    /// Starts the child, attaches (or launches it suspended, attaches, resumes), lets it run its workload,
    /// and collects until an interval agrees with the child's final STATS (and at least
    /// <paramref name="minIntervals"/> intervals arrived). <paramref name="whileRunning"/> gets the child's pid once
    /// the session is live.
    /// </summary>
    public static async Task<Observation> RunAsync(ProcessStartInfo start, bool launch, Action<int>? whileRunning = null, int minIntervals = 3)
    {
        Child child;
        SmmuSession session;
        if (launch)
        {
            start.RedirectStandardInput = start.RedirectStandardOutput = start.RedirectStandardError = true;
            Process process = Launcher.StartSuspended(start, CancellationToken.None);
            child = Child.Wrap(process);
            session = SmmuSession.Start(child.Pid, new SessionOptions(Interval));
            Launcher.Resume(child.Pid);
            child.WaitFor("READY", Patience);
        }
        else
        {
            child = Child.Start(start);
            child.WaitFor("READY", Patience);
            session = SmmuSession.Start(child.Pid, new SessionOptions(Interval));
        }
        using (child)
        using (session)
        {
            var intervals = new List<MetricsInterval>();
            var faults = new List<FaultEvent>();
            var errors = new List<string>();
            Task reader = Task.Run(async () =>
            {
                await foreach (SessionEvent e in session.Events.ReadAllAsync())
                {
                    lock (intervals)
                    {
                        switch (e)
                        {
                            case IntervalCollected c: intervals.Add(c.Interval); break;
                            case FaultRaised f: faults.Add(f.Fault); break;
                            case SessionError s: errors.Add(s.Message); break;
                        }
                    }
                }
            });

            // The first interval proves the session is live (both providers were enabled together): only then go.
            await Until(() => intervals.Count > 0 || errors.Count > 0, intervals, "the first interval");
            whileRunning?.Invoke(child.Pid);
            child.Send("go");
            child.WaitFor("DONE", Patience);
            await Until(() => errors.Count > 0 || (intervals.Count >= minIntervals && Agrees(intervals[^1], child.Stats)), intervals,
                        "an interval that agrees with the child's STATS");
            session.Stop();
            await reader.WaitAsync(TimeSpan.FromSeconds(30));
            int exit = child.Finish(TimeSpan.FromSeconds(30));
            var observation = new Observation { ChildStats = child.Stats, ChildFaults = child.Faults, ChildExitCode = exit };
            observation.Intervals.AddRange(intervals);
            observation.Faults.AddRange(faults);
            observation.Errors.AddRange(errors);
            return observation;
        }
    }

    /// <summary>True when every instance's instruments equal its STATS.</summary>
    public static bool Agrees(MetricsInterval interval, Dictionary<int, Dictionary<string, ulong>> stats) =>
        stats.Count > 0 && stats.All(s =>
            interval.Instances.FirstOrDefault(i => i.Instance == s.Key) is { } sample
            && StatInstruments.All(m => sample.Values.TryGetValue(m.Instrument, out InstrumentValue v) && v.Value == s.Value[m.Field]));

    private static async Task Until(Func<bool> done, object gate, string what)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < Patience)
        {
            lock (gate)
            {
                if (done())
                    return;
            }
            await Task.Delay(50);
        }
        throw new TimeoutException($"waited {Patience.TotalSeconds} s for {what}");
    }
}
