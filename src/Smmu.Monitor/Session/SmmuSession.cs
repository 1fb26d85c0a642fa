using System.Diagnostics.Tracing;
using System.Globalization;
using System.Threading.Channels;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;

namespace Smmu.Monitor.Session;

/// <summary>What a session listens to.</summary>
/// <param name="Interval">How often the process collects its instruments.</param>
/// <param name="Metrics">Listen to the <c>Smmu</c> meter (through the runtime's <c>System.Diagnostics.Metrics</c> EventSource).</param>
/// <param name="Faults">Listen to the <c>Smmu</c> EventSource's fault events.</param>
public sealed record SessionOptions(TimeSpan Interval, bool Metrics = true, bool Faults = true);

/// <summary>
/// One EventPipe session with a process that runs the SMMU model — a C# program using Smmu.Core or a C
/// program that loaded libsmmu.so — through the runtime's diagnostics IPC
/// (<see cref="DiagnosticsClient"/>). It enables two providers:
/// <list type="bullet">
/// <item><c>System.Diagnostics.Metrics</c>, the runtime's bridge from <c>Meter</c>s to EventPipe (the one
/// dotnet-counters uses), asked for the <c>Smmu</c> meter every <see cref="SessionOptions.Interval"/>;</item>
/// <item><c>Smmu</c>, the model's EventSource, for its fault events.</item>
/// </list>
/// TraceEvent parses the stream on a thread of its own; what it finds arrives in order on
/// <see cref="Events"/>, which completes when the session ends (<see cref="Stop"/>, or the process exited).
/// </summary>
public sealed class SmmuSession : IDisposable
{
    /// <summary>The runtime's EventSource that publishes Meter instruments.</summary>
    public const string MetricsProvider = "System.Diagnostics.Metrics";
    /// <summary>The model's meter and EventSource name.</summary>
    public const string SmmuName = "Smmu";

    private const long MetricsTimeSeriesKeyword = 0x2;   // MetricsEventSource.Keywords.TimeSeriesValues
    private const long SmmuFaultsKeyword = 0x1;          // SmmuEventSource.Keywords.Faults

    private readonly EventPipeSession _session;
    private readonly Thread _reader;
    private readonly Channel<SessionEvent> _events = Channel.CreateUnbounded<SessionEvent>(new UnboundedChannelOptions { SingleWriter = true });
    private readonly string _sessionId;
    private readonly List<InstrumentInfo> _instruments = [];
    private readonly SortedDictionary<int, Dictionary<string, InstrumentValue>> _pending = [];
    private int _stopped;

    private SmmuSession(int processId, EventPipeSession session, string sessionId)
    {
        ProcessId = processId;
        _session = session;
        _sessionId = sessionId;
        _reader = new Thread(Read) { IsBackground = true, Name = $"smmu-monitor EventPipe reader (pid {processId})" };
        _reader.Start();
    }

    /// <summary>The process listened to.</summary>
    public int ProcessId { get; }

    /// <summary>Intervals, faults and errors, in order; completes when the session ends.</summary>
    public ChannelReader<SessionEvent> Events => _events.Reader;

    /// <summary>True once the session ended because the process closed it (it exited), not through <see cref="Stop"/>.</summary>
    public bool EndedByProcess { get; private set; }

    /// <summary>
    /// Starts a session with process <paramref name="processId"/>. Throws what <see cref="DiagnosticsClient"/>
    /// throws: <see cref="ServerNotAvailableException"/> when the process has no diagnostics endpoint (gone,
    /// not .NET, or diagnostics disabled).
    /// </summary>
    public static SmmuSession Start(int processId, SessionOptions options)
    {
        var providers = new List<EventPipeProvider>();
        string sessionId = Guid.NewGuid().ToString("N");
        if (options.Metrics)
        {
            providers.Add(new EventPipeProvider(MetricsProvider, EventLevel.Informational, MetricsTimeSeriesKeyword,
                new Dictionary<string, string>
                {
                    ["SessionId"] = sessionId,
                    ["Metrics"] = SmmuName,
                    ["RefreshInterval"] = options.Interval.TotalSeconds.ToString(CultureInfo.InvariantCulture),
                    ["MaxTimeSeries"] = "10000",
                    ["MaxHistograms"] = "0",
                }));
        }
        if (options.Faults)
            providers.Add(new EventPipeProvider(SmmuName, EventLevel.Warning, SmmuFaultsKeyword));
        var client = new DiagnosticsClient(processId);
        EventPipeSession session = client.StartEventPipeSession(providers, requestRundown: false, circularBufferMB: 64);
        return new SmmuSession(processId, session, sessionId);
    }

    /// <summary>Ends the session; <see cref="Events"/> completes once what was already sent has been read.</summary>
    public void Stop()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
            return;
        try
        {
            _session.Stop();
        }
        catch (Exception e) when (e is ServerNotAvailableException or IOException or ObjectDisposedException or TimeoutException or ServerErrorException)
        {
            // The process is gone (or going): its stream ends by itself.
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Stop();
        if (!_reader.Join(TimeSpan.FromSeconds(5)))
            _session.Dispose();   // closes the stream under the reader
        _reader.Join(TimeSpan.FromSeconds(5));
        _session.Dispose();
    }

    private void Read()
    {
        try
        {
            using var source = new EventPipeEventSource(_session.EventStream);
            source.Dynamic.All += OnEvent;
            source.Process();
        }
        catch (Exception e) when (Volatile.Read(ref _stopped) == 0)
        {
            // A process killed mid-block leaves a truncated stream: that is its end, not a failed session.
            // (It may still be exiting when the stream breaks: give it a moment.)
            for (int i = 0; i < 25 && Attach.ProcessProbe.Exists(ProcessId); i++)
                Thread.Sleep(20);
            if (Attach.ProcessProbe.Exists(ProcessId))
                _events.Writer.TryWrite(new SessionError($"reading the event stream failed: {e.Message}", Fatal: true));
        }
        catch (Exception)
        {
            // Stopped and disposed under us: the end.
        }
        EndedByProcess = Volatile.Read(ref _stopped) == 0;
        _events.Writer.TryComplete();
    }

    private void OnEvent(TraceEvent e)
    {
        if (e.ProviderName == SmmuName)
        {
            if ((int)e.ID == 1 || e.EventName == "Fault")
                _events.Writer.TryWrite(new FaultRaised(ParseFault(e)));
            return;
        }
        if (e.ProviderName != MetricsProvider)
            return;
        string eventName = e.EventName;
        // Events of other sessions (another tool reconfigured the source) carry another id.
        if (e.PayloadIndex("sessionId") >= 0 && (string)e.PayloadByName("sessionId") != _sessionId)
            return;
        switch (eventName)
        {
            case "BeginInstrumentReporting":
                if (Str(e, "meterName") == SmmuName)
                {
                    string name = Str(e, "instrumentName");
                    if (!_instruments.Exists(i => i.Name == name))
                        _instruments.Add(new InstrumentInfo(name, Str(e, "instrumentType"), Str(e, "unit"), Str(e, "description")));
                }
                break;
            case "CollectionStart" or "Collection/Start":   // TraceEvent names Start/Stop events task/opcode
                _pending.Clear();
                break;
            case "CounterRateValuePublished":
            case "UpDownCounterRateValuePublished":
                Record(e, Str(e, "value"), Str(e, "rate"));
                break;
            case "GaugeValuePublished":
                Record(e, Str(e, "lastValue"), "");
                break;
            case "CollectionStop" or "Collection/Stop":
                var instances = _pending.Select(p => new InstanceSample(p.Key, p.Value)).ToList();
                _pending.Clear();
                var start = (DateTime)e.PayloadByName("intervalStartTime");
                var end = (DateTime)e.PayloadByName("intervalEndTime");
                _events.Writer.TryWrite(new IntervalCollected(new MetricsInterval(start.ToUniversalTime(), end.ToUniversalTime(), [.. _instruments], instances)));
                break;
            case "MultipleSessionsNotSupportedError":
                // Also sent when the source sees our own Enable twice (the provider was enabled before the
                // process created the source, e.g. a launched program): harmless when the running one is ours.
                if (Str(e, "runningSessionId") == _sessionId)
                    break;
                _events.Writer.TryWrite(new SessionError(
                    "another tool (dotnet-counters, dotnet-monitor, another smmu-monitor) is already collecting this process's metrics; "
                    + "the runtime serves one metrics session at a time", Fatal: true));
                break;
            case "Error":
            case "ObservableInstrumentCallbackError":
                _events.Writer.TryWrite(new SessionError($"the process reported: {Str(e, "errorMessage")}", Fatal: false));
                break;
            case "TimeSeriesLimitReached":
                _events.Writer.TryWrite(new SessionError("the process reached its time-series limit: some instances are not reported", Fatal: false));
                break;
        }
    }

    private void Record(TraceEvent e, string value, string delta)
    {
        if (Str(e, "meterName") != SmmuName || !TryInstance(Str(e, "tags"), out int instance))
            return;
        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
            return;
        double? d = double.TryParse(delta, NumberStyles.Float, CultureInfo.InvariantCulture, out double parsed) ? parsed : null;
        if (!_pending.TryGetValue(instance, out Dictionary<string, InstrumentValue>? values))
            _pending[instance] = values = [];
        values[Str(e, "instrumentName")] = new InstrumentValue(v, d);
    }

    /// <summary>Finds <c>instance=N</c> in the bridge's tag list (<c>key=value,key=value</c>).</summary>
    internal static bool TryInstance(string tags, out int instance)
    {
        foreach (string tag in tags.Split(','))
        {
            int eq = tag.IndexOf('=');
            if (eq > 0 && tag.AsSpan(0, eq).Trim().SequenceEqual("instance"))
                return int.TryParse(tag.AsSpan(eq + 1), NumberStyles.Integer, CultureInfo.InvariantCulture, out instance);
        }
        instance = 0;
        return false;
    }

    private static FaultEvent ParseFault(TraceEvent e) => new(
        e.TimeStamp.ToUniversalTime(),
        Convert.ToInt32(e.PayloadByName("instance"), CultureInfo.InvariantCulture),
        U32(e, "streamId"), U32(e, "contextBank"), U32(e, "asid"), U32(e, "activeDomain"),
        Convert.ToUInt64(e.PayloadByName("iova"), CultureInfo.InvariantCulture),
        U32(e, "access"), U32(e, "type"), U32(e, "level"), U32(e, "fsr"), U32(e, "fsynr0"));

    private static uint U32(TraceEvent e, string name) => Convert.ToUInt32(e.PayloadByName(name), CultureInfo.InvariantCulture);

    private static string Str(TraceEvent e, string name) => e.PayloadByName(name) as string ?? "";
}
