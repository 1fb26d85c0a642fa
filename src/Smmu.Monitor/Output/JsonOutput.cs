using System.Buffers;
using System.Text;
using System.Text.Json;
using Smmu.Monitor.Session;

namespace Smmu.Monitor.Output;

/// <summary>
/// <c>--format json</c>: one JSON object per line per interval —
/// <c>{"time":…,"pid":…,"interval_s":…,"instances":[{"instance":1,"smmu.translations":…,"smmu.translations/s":…,…}]}</c>
/// (see <see cref="Columns"/>; a missing value is <c>null</c>).
/// </summary>
internal sealed class JsonOutput(TextWriter output, int pid) : IIntervalOutput
{
    private Columns? _columns;

    public void Write(MetricsInterval interval)
    {
        if (interval.Instances.Count > 0)
            _columns ??= new Columns(interval.Instruments);
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("time", Columns.Format(interval.End));
            json.WriteNumber("pid", pid);
            json.WriteNumber("interval_s", Math.Round(interval.Seconds, 3));
            json.WriteStartArray("instances");
            foreach (InstanceSample sample in interval.Instances)
            {
                json.WriteStartObject();
                json.WriteNumber("instance", sample.Instance);
                foreach ((string header, double? value) in _columns!.Values(sample, interval.Seconds))
                    WriteNumber(json, header, value);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        output.WriteLine(Encoding.UTF8.GetString(buffer.WrittenSpan));
        output.Flush();
    }

    /// <summary>Integers as integers (counts), other values as they are, missing ones as null.</summary>
    internal static void WriteNumber(Utf8JsonWriter json, string name, double? value)
    {
        if (value is not { } v)
            json.WriteNull(name);
        else if (v == Math.Floor(v) && Math.Abs(v) < 9e15)
            json.WriteNumber(name, (long)v);
        else
            json.WriteNumber(name, v);
    }
}
