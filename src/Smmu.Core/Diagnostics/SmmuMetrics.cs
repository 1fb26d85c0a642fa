using System.Diagnostics.Metrics;

namespace Smmu.Core.Diagnostics;

/// <summary>
/// The <see cref="Meter"/> named <c>Smmu</c>: one observable instrument per statistic, each reporting
/// one value per live instance, tagged <c>instance=&lt;id&gt;</c> (<see cref="SmmuInstance.Id"/>).
/// <para>Why a <see cref="Meter"/> rather than <c>EventCounter</c>s on the <c>Smmu</c> EventSource: a
/// meter's measurements carry tags, so one instrument covers every instance (EventCounters have no
/// dimensions: an instance would need its own counter names); observable instruments are read only when
/// a listener collects (dotnet-counters, <c>smmu-monitor</c>, OpenTelemetry, a <see cref="MeterListener"/>
/// in-process), so nothing runs and nothing allocates until someone listens; and it is the API .NET
/// recommends for new metrics.</para>
/// <para>Every instrument reads <see cref="SmmuInstance.GetStats"/>, the counters the model keeps anyway:
/// the translate path is not touched. The callbacks run on the collector's thread while the instance's
/// own thread may be translating, without stopping it: each counter is an aligned 64-bit field, read
/// whole (never torn on 64-bit hosts), and only grows between <see cref="SmmuInstance.ResetStats"/>
/// calls; but the instruments are read one after the other, not as one snapshot, so e.g. hits + misses
/// can differ from translations by the work done in between, and a batch translation adds its counts
/// when the batch returns. Once the instance is idle every instrument agrees with <c>GetStats</c>.</para>
/// </summary>
internal static class SmmuMetrics
{
    /// <summary>The meter's name (what <c>dotnet-counters --counters Smmu</c> selects).</summary>
    public const string MeterName = "Smmu";

    private delegate ulong Reading(in SmmuStats stats);

    private sealed record Statistic(string Name, string Unit, string Description, Reading Read);

    // One line per instrument: a new SmmuStats field becomes an instrument by adding a row here.
    // Counts only grow (ObservableCounter: a listener shows the rate and the total).
    private static readonly Statistic[] s_counters =
    [
        new("smmu.translations", "{translation}", "Translations requested through a stream, faulted ones included", static (in s) => s.Translations),
        new("smmu.tlb.hits", "{lookup}", "TLB lookups that hit", static (in s) => s.TlbHits),
        new("smmu.tlb.misses", "{lookup}", "TLB lookups that missed", static (in s) => s.TlbMisses),
        new("smmu.walks", "{walk}", "Table walks (one per TLB miss, one per iova_to_phys)", static (in s) => s.Walks),
        new("smmu.faults", "{fault}", "Translations that faulted", static (in s) => s.Faults),
        new("smmu.switches", "{switch}", "Domain switches", static (in s) => s.Switches),
        new("smmu.tlb.invalidations", "{invalidation}", "TLB maintenance operations", static (in s) => s.TlbInvalidations),
        new("smmu.tlb.entries_invalidated", "{entry}", "Valid TLB entries removed by maintenance", static (in s) => s.TlbEntriesInvalidated),
        new("smmu.stage2.walks", "{walk}", "Walks through stage 2 (stage-2-only or nested)", static (in s) => s.Stage2Walks),
        new("smmu.descriptor_reads", "{read}", "Descriptors read by all walks", static (in s) => s.DescriptorReads),
        new("smmu.vmid_invalidations", "{invalidation}", "VMID-wide invalidations", static (in s) => s.VmidInvalidations),
        new("smmu.sanitizer.stale_translations", "{translation}", "Translations served from a TLB entry whose invalidation was pending, differing from the tables", static (in s) => s.StaleTranslations),
        new("smmu.sanitizer.missed_syncs", "{gather}", "Gathers never synced: domain detached or freed with one pending", static (in s) => s.MissedSyncs),
        new("smmu.sanitizer.needless_invalidations", "{sync}", "Syncs and lazy flushes that found nothing cached", static (in s) => s.NeedlessInvalidations),
    ];

    // Levels that go up and down (ObservableUpDownCounter).
    private static readonly Statistic[] s_levels =
    [
        new("smmu.pt.pages_in_use", "{page}", "Page-table pages in use (roots included)", static (in s) => s.PtPagesInUse),
        new("smmu.pt.pages_free", "{page}", "Page-table pages free in the pool", static (in s) => s.PtPagesFree),
    ];

    /// <summary>The meter; instruments are created with it, once per process.</summary>
    public static readonly Meter Meter = CreateMeter();

    /// <summary>Names of every instrument, in the order they were created (for tests and tools).</summary>
    public static IReadOnlyList<string> InstrumentNames { get; } =
        [.. s_counters.Select(s => s.Name), "smmu.tlb.hit_ratio", .. s_levels.Select(s => s.Name)];

    /// <summary>Creates the meter (reading a static field runs the type's initializers; an empty method would not, since the type is beforefieldinit): called when an instance registers.</summary>
    public static void EnsureCreated() => GC.KeepAlive(Meter);

    private static Meter CreateMeter()
    {
        var meter = new Meter(MeterName, typeof(SmmuMetrics).Assembly.GetName().Version?.ToString());
        foreach (Statistic s in s_counters)
            meter.CreateObservableCounter(s.Name, () => Observe(s.Read), s.Unit, s.Description);
        meter.CreateObservableGauge("smmu.tlb.hit_ratio", ObserveHitRatio, "1",
            "TLB hits / (hits + misses) since the instance was created or its statistics reset");
        foreach (Statistic s in s_levels)
            meter.CreateObservableUpDownCounter(s.Name, () => Observe(s.Read), s.Unit, s.Description);
        return meter;
    }

    // Called per collection (each interval of a listener), never per translation: allocating here is fine.
    private static Measurement<long>[] Observe(Reading read)
    {
        var stats = new List<(KeyValuePair<string, object?>[] Tags, SmmuStats Stats)>();
        InstanceRegistry.ReadAll(stats);
        var measurements = new Measurement<long>[stats.Count];
        for (int i = 0; i < measurements.Length; i++)
            measurements[i] = new Measurement<long>((long)read(stats[i].Stats), stats[i].Tags);
        return measurements;
    }

    private static IEnumerable<Measurement<double>> ObserveHitRatio()
    {
        var stats = new List<(KeyValuePair<string, object?>[] Tags, SmmuStats Stats)>();
        InstanceRegistry.ReadAll(stats);
        foreach ((KeyValuePair<string, object?>[] tags, SmmuStats s) in stats)
        {
            ulong lookups = s.TlbHits + s.TlbMisses;
            if (lookups != 0)   // no lookup yet: no ratio, rather than a made-up 0 or 1
                yield return new Measurement<double>((double)s.TlbHits / lookups, tags);
        }
    }
}
