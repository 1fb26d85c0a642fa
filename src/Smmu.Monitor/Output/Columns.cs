using System.Globalization;
using Smmu.Monitor.Session;

namespace Smmu.Monitor.Output;

/// <summary>
/// The columns of the csv and json outputs, fixed by the first interval that has instruments: for each
/// instrument its value (<c>smmu.translations</c>: a counter's total, an up-down counter's level, a
/// gauge's value) and, for counters and up-down counters, its change per second over the interval
/// (<c>smmu.translations/s</c>; empty in the first interval, which has no previous value).
/// </summary>
internal sealed class Columns
{
    private readonly List<(string Header, string Instrument, bool Rate)> _columns = [];

    public Columns(IReadOnlyList<InstrumentInfo> instruments)
    {
        foreach (InstrumentInfo i in instruments)
        {
            _columns.Add((i.Name, i.Name, false));
            if (!i.Kind.StartsWith("ObservableGauge", StringComparison.Ordinal) && !i.Kind.StartsWith("Gauge", StringComparison.Ordinal))
                _columns.Add((i.Name + "/s", i.Name, true));
        }
    }

    /// <summary>Column headers, in order.</summary>
    public IEnumerable<string> Headers => _columns.Select(c => c.Header);

    /// <summary>Each column's value for <paramref name="sample"/>: null where there is none.</summary>
    public IEnumerable<(string Header, double? Value)> Values(InstanceSample sample, double seconds)
    {
        foreach ((string header, string instrument, bool rate) in _columns)
        {
            double? value = null;
            if (sample.Values.TryGetValue(instrument, out InstrumentValue v))
                value = rate ? (v.Delta is { } d ? Math.Round(d / seconds, 3) : null) : v.Value;
            yield return (header, value);
        }
    }

    /// <summary>Invariant, round-trippable, integers without a decimal point.</summary>
    public static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>An ISO 8601 UTC timestamp with milliseconds.</summary>
    public static string Format(DateTime time) => time.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
