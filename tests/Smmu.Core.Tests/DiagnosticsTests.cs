using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Diagnostics.Tracing;
using Smmu.Core.Diagnostics;
using static Smmu.Core.Tests.TestSmmu;

namespace Smmu.Core.Tests;

/// <summary>
/// The Smmu meter and the Smmu EventSource, in process (tests/Smmu.Monitor.Tests watches them from
/// another process): the instruments read <c>GetStats</c> per instance, tagged with the instance's id;
/// a disposed instance is no longer read; each fault is an event with the record's fields, only while
/// someone listens; and translating allocates nothing while listeners collect.
/// These tests run one at a time (one class): the EventSource and the meter are per process.
/// </summary>
public class DiagnosticsTests
{
    /// <summary>Every instrument of the Smmu meter, read once: instrument → instance id → value.</summary>
    private static Dictionary<string, Dictionary<int, double>> Collect()
    {
        var values = new Dictionary<string, Dictionary<int, double>>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == SmmuMetrics.MeterName)
                    l.EnableMeasurementEvents(instrument);
            },
        };
        void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            Assert.Equal(1, tags.Length);
            Assert.Equal(InstanceRegistry.InstanceTag, tags[0].Key);
            if (!values.TryGetValue(instrument.Name, out Dictionary<int, double>? byInstance))
                values[instrument.Name] = byInstance = [];
            byInstance.Add((int)tags[0].Value!, value);
        }
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        listener.Start();
        listener.RecordObservableInstruments();
        return values;
    }

    /// <summary>An instance with some of everything counted: hits, misses, a switch, an unmap, a fault.</summary>
    private static SmmuInstance Busy(int pages)
    {
        SmmuInstance smmu = Create();
        DomainHandle b = smmu.AttachBase();
        DomainHandle d = smmu.AttachDynamic(b);
        Ok(smmu.Map(d, Iova, Pa, (ulong)pages * 0x1000, ReadWrite));
        Ok(smmu.SwitchDomain(d));
        for (int pass = 0; pass < 3; pass++)
        {
            for (int i = 0; i < pages; i++)
                Ok(smmu.Translate(Sid, Iova + (ulong)i * 0x1000, SmmuAccess.Read, out _));
        }
        Assert.Equal(SmmuError.Fault, smmu.Translate(Sid, Iova + 0x1000_0000, SmmuAccess.Read, out _));
        Assert.Equal(0x1000, smmu.Unmap(d, Iova, 0x1000));
        return smmu;
    }

    [Fact]
    public void Every_instrument_reads_GetStats_per_instance_tagged_with_the_instance_id()
    {
        using SmmuInstance a = Busy(8);
        using SmmuInstance b = Busy(20);
        Dictionary<string, Dictionary<int, double>> values = Collect();

        Assert.Equal(SmmuMetrics.InstrumentNames.Order(), values.Keys.Order());
        foreach (SmmuInstance smmu in new[] { a, b })
        {
            SmmuStats s = smmu.Stats;
            (string Name, ulong Value)[] expected =
            [
                ("smmu.translations", s.Translations), ("smmu.tlb.hits", s.TlbHits), ("smmu.tlb.misses", s.TlbMisses),
                ("smmu.walks", s.Walks), ("smmu.faults", s.Faults), ("smmu.switches", s.Switches),
                ("smmu.tlb.invalidations", s.TlbInvalidations), ("smmu.tlb.entries_invalidated", s.TlbEntriesInvalidated),
                ("smmu.pt.pages_in_use", s.PtPagesInUse), ("smmu.pt.pages_free", s.PtPagesFree),
                ("smmu.stage2.walks", s.Stage2Walks), ("smmu.descriptor_reads", s.DescriptorReads),
                ("smmu.vmid_invalidations", s.VmidInvalidations), ("smmu.sanitizer.stale_translations", s.StaleTranslations),
                ("smmu.sanitizer.missed_syncs", s.MissedSyncs), ("smmu.sanitizer.needless_invalidations", s.NeedlessInvalidations),
            ];
            foreach ((string name, ulong value) in expected)
                Assert.True(values[name][smmu.Id] == value, $"{name} of instance {smmu.Id}: {values[name][smmu.Id]}, GetStats says {value}");
            Assert.Equal((double)s.TlbHits / (s.TlbHits + s.TlbMisses), values["smmu.tlb.hit_ratio"][smmu.Id]);
        }
        Assert.NotEqual(values["smmu.translations"][a.Id], values["smmu.translations"][b.Id]);
    }

    [Fact]
    public void A_disposed_instance_is_no_longer_reported_and_ids_are_never_reused()
    {
        SmmuInstance first = Busy(4);
        int id = first.Id;
        Assert.Contains(id, Collect()["smmu.translations"].Keys);
        first.Dispose();
        Assert.False(Collect().TryGetValue("smmu.translations", out Dictionary<int, double>? after) && after.ContainsKey(id));
        using SmmuInstance next = Create();
        Assert.True(next.Id > id);
        Assert.Throws<ObjectDisposedException>(() => first.Id);
    }

    [Fact]
    public void The_hit_ratio_has_no_value_before_the_first_lookup()
    {
        using SmmuInstance idle = Create();
        Dictionary<string, Dictionary<int, double>> values = Collect();
        Assert.Equal(0, values["smmu.translations"][idle.Id]);
        Assert.False(values.TryGetValue("smmu.tlb.hit_ratio", out Dictionary<int, double>? ratios) && ratios.ContainsKey(idle.Id));
    }

    private sealed class FaultListener : EventListener
    {
        public readonly ConcurrentQueue<EventWrittenEventArgs> Events = new();

        protected override void OnEventSourceCreated(EventSource source)
        {
            if (source.Name == SmmuEventSource.SourceName)
                EnableEvents(source, EventLevel.Warning, SmmuEventSource.Keywords.Faults);
        }

        protected override void OnEventWritten(EventWrittenEventArgs e) => Events.Enqueue(e);
    }

    [Fact]
    public void Each_fault_is_an_event_with_the_record_fields_only_while_a_listener_listens()
    {
        using SmmuInstance smmu = Create();
        DomainHandle b = smmu.AttachBase();
        DomainHandle d = smmu.AttachDynamic(b);
        Ok(smmu.Map(d, Iova, Pa, 0x1000, SmmuProt.Read));
        Ok(smmu.SwitchDomain(d));
        var records = new List<SmmuFault>();
        Ok(smmu.SetFaultHandler(b, (SmmuInstance _, DomainHandle _, in SmmuFault f) =>
        {
            records.Add(f);
            return 0;
        }));

        Assert.False(SmmuEventSource.Log.IsEnabled());   // nobody listens: Raise skips the event
        Assert.Equal(SmmuError.Fault, smmu.Translate(Sid, Iova + 0x20_0000, SmmuAccess.Read, out _));

        using var listener = new FaultListener();
        Assert.True(SmmuEventSource.Log.IsEnabled());
        Assert.Equal(SmmuError.Fault, smmu.Translate(Sid, Iova, SmmuAccess.Write | SmmuAccess.Priv, out _));              // permission
        Assert.Equal(SmmuError.Fault, smmu.Translate(Sid, Iova + 0x4000_0000, SmmuAccess.Read | SmmuAccess.Exec, out _)); // translation

        EventWrittenEventArgs[] mine = [.. listener.Events.Where(e => (int)e.Payload![0]! == smmu.Id)];
        Assert.Equal(2, mine.Length);
        for (int k = 0; k < mine.Length; k++)
        {
            SmmuFault f = records[k + 1];
            EventWrittenEventArgs e = mine[k];
            Assert.Equal(SmmuEventSource.FaultEventId, e.EventId);
            Assert.Equal(
                ["instance", "streamId", "contextBank", "asid", "activeDomain", "iova", "access", "type", "level", "fsr", "fsynr0"],
                e.PayloadNames);
            Assert.Equal<object?>(
                [smmu.Id, f.StreamId, f.ContextBank, f.Asid, f.ActiveDomain.Value, f.Iova, (uint)f.Access, (uint)f.Type, f.Level, f.Fsr, f.Fsynr],
                e.Payload);
        }
        Assert.Equal(FaultType.Permission, records[1].Type);
        Assert.Equal(FaultType.Translation, records[2].Type);
    }

    [Fact]
    public void Translating_allocates_nothing_while_a_meter_listener_and_an_event_listener_collect()
    {
        using SmmuInstance smmu = Busy(64);
        using var events = new FaultListener();
        using var stop = new CancellationTokenSource();
        var collector = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
                Collect();
        });
        collector.Start();
        try
        {
            ulong[] iovas = [.. Enumerable.Range(1, 63).Select(i => Iova + (ulong)i * 0x1000)];
            for (int attempt = 0; ; attempt++)
            {
                int collections = GC.CollectionCount(0);
                TimeSpan paused = GC.GetTotalPauseDuration();
                long before = GC.GetAllocatedBytesForCurrentThread();
                int failures = 0;
                for (int round = 0; round < 200; round++)
                {
                    foreach (ulong iova in iovas)
                        failures += smmu.Translate(Sid, iova, SmmuAccess.Read, out _) != SmmuError.Ok ? 1 : 0;
                }
                long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                if (GC.CollectionCount(0) != collections || GC.GetTotalPauseDuration() != paused)
                {
                    // The collector allocates: a collection in the window retires this thread's allocation
                    // context and the count jumps without an allocation here (see AllocationTests).
                    Assert.True(attempt < 50, "a garbage collection ran during every measurement");
                    continue;
                }
                Assert.Equal(0, failures);
                Assert.Equal(0, allocated);
                break;
            }
        }
        finally
        {
            stop.Cancel();
            collector.Join();
        }
    }

    [Fact]
    public void Collecting_while_instances_are_created_used_and_disposed_on_other_threads_is_safe()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        var errors = new ConcurrentQueue<Exception>();
        Thread[] workers = [.. Enumerable.Range(0, 3).Select(_ => new Thread(() =>
        {
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    using SmmuInstance smmu = Busy(4);
                }
            }
            catch (Exception e)
            {
                errors.Enqueue(e);
            }
        }))];
        foreach (Thread t in workers)
            t.Start();
        int collections = 0;
        while (!stop.IsCancellationRequested)
        {
            foreach (Dictionary<int, double> byInstance in Collect().Values)
                Assert.All(byInstance.Values, v => Assert.True(v >= 0));
            collections++;
        }
        foreach (Thread t in workers)
            t.Join();
        Assert.Empty(errors);
        Assert.True(collections > 0);
    }
}
