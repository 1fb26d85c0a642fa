using System.Diagnostics.Metrics;
using System.Diagnostics.Tracing;
using BenchmarkDotNet.Attributes;
using Microsoft.Diagnostics.NETCore.Client;
using Smmu.Bench.Fixtures;

namespace Smmu.Bench.Benchmarks;

/// <summary>
/// What watching the model costs the hit path (docs/monitoring.md): the TLB-hit <c>Translate</c> of
/// <see cref="TranslateHitBenchmarks"/> (1024 x 8, 4096 translations per invocation) with nobody
/// listening, and with each kind of listener attached to the <c>Smmu</c> meter and the <c>Smmu</c>
/// EventSource, collecting every 100 ms (ten times dotnet-counters' default rate):
/// <list type="bullet">
/// <item><c>MeterListener</c>: an in-process <see cref="MeterListener"/> on every Smmu instrument, read by a timer;</item>
/// <item><c>EventListener</c>: an in-process <see cref="EventListener"/> enabling the runtime's
/// <c>System.Diagnostics.Metrics</c> bridge for the Smmu meter (its collection thread reads the
/// instruments) and the Smmu EventSource's fault events;</item>
/// <item><c>EventPipe</c>: a real EventPipe session through the diagnostics IPC, as dotnet-counters and
/// smmu-monitor open it, from this process to itself, its stream drained by a thread.</item>
/// </list>
/// Each case runs in its own process (BenchmarkDotNet), so no listener outlives its case.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class MonitoringOverheadBenchmarks
{
    private const int Translations = 4096;

    public enum Listener { None, MeterListener, EventListener, EventPipe }

    private Testbed _testbed = null!;
    private ulong[] _iovas = null!;
    private MeterListener? _meterListener;
    private Timer? _timer;
    private BridgeListener? _eventListener;
    private EventPipeSession? _session;
    private Thread? _drain;

    [Params(Listener.None, Listener.MeterListener, Listener.EventListener, Listener.EventPipe)]
    public Listener Attached { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _testbed = new Testbed(Layout.Config());
        _testbed.MapPages(_testbed.Base, 0, 1024);
        _testbed.Touch(AccessPattern.Sequential(1024));
        _iovas = AccessPattern.Random(Translations, 1024);
        ulong misses = _testbed.Misses;
        _testbed.Touch(_iovas);
        Check.That(_testbed.Misses == misses, "the TLB-hit working set missed");

        switch (Attached)
        {
            case Listener.MeterListener:
                long seen = 0;
                _meterListener = new MeterListener
                {
                    InstrumentPublished = (instrument, l) =>
                    {
                        if (instrument.Meter.Name == "Smmu")
                            l.EnableMeasurementEvents(instrument);
                    },
                };
                _meterListener.SetMeasurementEventCallback<long>((_, v, _, _) => Interlocked.Add(ref seen, v));
                _meterListener.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref seen));
                _meterListener.Start();
                _timer = new Timer(_ => _meterListener.RecordObservableInstruments(), null, 0, 100);
                Thread.Sleep(300);
                Check.That(Interlocked.Read(ref seen) > 0, "the MeterListener read no Smmu instrument");
                break;
            case Listener.EventListener:
                _eventListener = new BridgeListener();
                Thread.Sleep(500);
                Check.That(_eventListener.Values > 0, "the metrics bridge published no Smmu value");
                break;
            case Listener.EventPipe:
                var client = new DiagnosticsClient(Environment.ProcessId);
                _session = client.StartEventPipeSession(
                [
                    new EventPipeProvider("System.Diagnostics.Metrics", EventLevel.Informational, 0x2, new Dictionary<string, string>
                    {
                        ["SessionId"] = "bench", ["Metrics"] = "Smmu", ["RefreshInterval"] = "0.1",
                        ["MaxTimeSeries"] = "1000", ["MaxHistograms"] = "0",
                    }),
                    new EventPipeProvider("Smmu", EventLevel.Warning, 0x1),
                ], requestRundown: false);
                long bytes = 0;
                EventPipeSession session = _session;
                _drain = new Thread(() =>
                {
                    var buffer = new byte[64 << 10];
                    int n;
                    try
                    {
                        while ((n = session.EventStream.Read(buffer, 0, buffer.Length)) > 0)
                            Interlocked.Add(ref bytes, n);
                    }
                    catch (Exception e) when (e is IOException or ObjectDisposedException)
                    {
                    }
                }) { IsBackground = true };
                _drain.Start();
                Thread.Sleep(1000);
                Check.That(Interlocked.Read(ref bytes) > 0, "the EventPipe session sent nothing");
                break;
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _timer?.Dispose();
        _meterListener?.Dispose();
        _eventListener?.Dispose();
        _session?.Stop();
        _drain?.Join(TimeSpan.FromSeconds(5));
        _session?.Dispose();
        _testbed.Dispose();
    }

    /// <summary>Named as in <see cref="TranslateHitBenchmarks"/>: one call per translation, all TLB hits.</summary>
    [Benchmark(OperationsPerInvoke = Translations)]
    public ulong Translate() => _testbed.TranslateEach(_iovas);

    /// <summary>The runtime's metrics bridge, enabled in process as dotnet-counters enables it out of process.</summary>
    private sealed class BridgeListener : EventListener
    {
        private long _values;

        public long Values => Interlocked.Read(ref _values);

        protected override void OnEventSourceCreated(EventSource source)
        {
            if (source.Name == "System.Diagnostics.Metrics")
            {
                EnableEvents(source, EventLevel.Informational, (EventKeywords)0x2, new Dictionary<string, string?>
                {
                    ["SessionId"] = "bench", ["Metrics"] = "Smmu", ["RefreshInterval"] = "0.1",
                    ["MaxTimeSeries"] = "1000", ["MaxHistograms"] = "0",
                });
            }
            else if (source.Name == "Smmu")
            {
                EnableEvents(source, EventLevel.Warning, (EventKeywords)0x1);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            if (e.EventName is "CounterRateValuePublished" or "UpDownCounterRateValuePublished" or "GaugeValuePublished")
                Interlocked.Increment(ref _values);
        }
    }
}
