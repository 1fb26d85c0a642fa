using System.Diagnostics.Metrics;
using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;

namespace Smmu.Bench.Fixtures;

/// <summary>Who listens to the <c>Smmu</c> meter and EventSource while a benchmark runs.</summary>
public enum Listener
{
    /// <summary>Nobody.</summary>
    None,
    /// <summary>An in-process <see cref="MeterListener"/> on every Smmu instrument, read by a timer.</summary>
    MeterListener,
    /// <summary>An in-process <see cref="EventListener"/> enabling the runtime's <c>System.Diagnostics.Metrics</c>
    /// bridge for the Smmu meter (its collection thread reads the instruments) and the Smmu fault events.</summary>
    EventListener,
    /// <summary>A real EventPipe session through the diagnostics IPC, as dotnet-counters and smmu-monitor open
    /// it, from this process to itself, its stream drained by a thread.</summary>
    EventPipe,
}

/// <summary>
/// Attaches a <see cref="Listener"/> to the Smmu meter and EventSource, collecting every 100 ms (ten times
/// dotnet-counters' default rate), and checks that it really receives values before returning.
/// Dispose detaches it. Needs at least one live <c>SmmuInstance</c>.
/// </summary>
internal sealed class MonitoringListener : IDisposable
{
    private const string RefreshSeconds = "0.1";
    private MeterListener? _meterListener;
    private Timer? _timer;
    private BridgeListener? _eventListener;
    private EventPipeSession? _session;
    private Thread? _drain;

    public MonitoringListener(Listener kind)
    {
        switch (kind)
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
                _meterListener.SetMeasurementEventCallback<long>((_, _, _, _) => Interlocked.Increment(ref seen));
                _meterListener.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref seen));
                _meterListener.Start();
                _timer = new Timer(_ => _meterListener.RecordObservableInstruments(), null, 0, 100);
                WaitFor(() => Interlocked.Read(ref seen) > 0, "the MeterListener read no Smmu instrument");
                break;
            case Listener.EventListener:
                _eventListener = new BridgeListener();
                WaitFor(() => _eventListener.Values > 0, "the metrics bridge published no Smmu value");
                break;
            case Listener.EventPipe:
                var client = new DiagnosticsClient(Environment.ProcessId);
                _session = client.StartEventPipeSession(
                [
                    new EventPipeProvider("System.Diagnostics.Metrics", EventLevel.Informational, 0x2, BridgeArguments()),
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
                }) { IsBackground = true, Name = "EventPipe drain" };
                _drain.Start();
                WaitFor(() => Interlocked.Read(ref bytes) > 0, "the EventPipe session sent nothing");
                break;
        }
    }

    public void Dispose()
    {
        _timer?.Dispose();
        _meterListener?.Dispose();
        _eventListener?.Dispose();
        _session?.Stop();
        _drain?.Join(TimeSpan.FromSeconds(5));
        _session?.Dispose();
    }

    private static Dictionary<string, string> BridgeArguments() => new()
    {
        ["SessionId"] = "bench", ["Metrics"] = "Smmu", ["RefreshInterval"] = RefreshSeconds,
        ["MaxTimeSeries"] = "1000", ["MaxHistograms"] = "0",
    };

    private static void WaitFor(Func<bool> condition, string failure)
    {
        for (int i = 0; i < 100 && !condition(); i++)
            Thread.Sleep(20);
        Check.That(condition(), failure);
    }

    /// <summary>The runtime's metrics bridge, enabled in process as dotnet-counters enables it out of process.</summary>
    private sealed class BridgeListener : EventListener
    {
        private long _values;

        public long Values => Interlocked.Read(ref _values);

        protected override void OnEventSourceCreated(EventSource source)
        {
            if (source.Name == "System.Diagnostics.Metrics")
                EnableEvents(source, EventLevel.Informational, (EventKeywords)0x2, BridgeArguments()!);
            else if (source.Name == "Smmu")
                EnableEvents(source, EventLevel.Warning, (EventKeywords)0x1);
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            if (e.EventName is "CounterRateValuePublished" or "UpDownCounterRateValuePublished" or "GaugeValuePublished")
                Interlocked.Increment(ref _values);
        }
    }
}
