using System.Globalization;
using Smmu.Monitor.Session;

namespace Smmu.Monitor.Output;

/// <summary>
/// <c>--format csv</c>: a header, then one row per instance per interval:
/// <c>time,pid,instance,smmu.translations,smmu.translations/s,…</c> (see <see cref="Columns"/>).
/// </summary>
internal sealed class CsvOutput(TextWriter output, int pid) : IIntervalOutput
{
    private Columns? _columns;

    public void Write(MetricsInterval interval)
    {
        if (interval.Instances.Count == 0)
            return;
        if (_columns is null)
        {
            _columns = new Columns(interval.Instruments);
            output.WriteLine(string.Join(',', new[] { "time", "pid", "instance" }.Concat(_columns.Headers)));
        }
        foreach (InstanceSample sample in interval.Instances)
        {
            IEnumerable<string> cells = new[]
            {
                Columns.Format(interval.End), pid.ToString(CultureInfo.InvariantCulture), sample.Instance.ToString(CultureInfo.InvariantCulture),
            }.Concat(_columns.Values(sample, interval.Seconds).Select(c => c.Value is { } v ? Columns.Format(v) : ""));
            output.WriteLine(string.Join(',', cells));
        }
        output.Flush();
    }
}
