using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Smmu.Monitor.Session;

namespace Smmu.Monitor.Output;

/// <summary><c>faults</c>: one line per fault, as text or (<c>--format json</c>) as a JSON object.</summary>
internal sealed class FaultOutput(TextWriter output, int pid, bool json)
{
    public void Write(FaultEvent f)
    {
        if (json)
        {
            var buffer = new ArrayBufferWriter<byte>();
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                w.WriteString("time", Columns.Format(f.Time));
                w.WriteNumber("pid", pid);
                w.WriteNumber("instance", f.Instance);
                w.WriteNumber("stream_id", f.StreamId);
                w.WriteNumber("context_bank", f.ContextBank);
                w.WriteNumber("asid", f.Asid);
                w.WriteNumber("active_domain", f.ActiveDomain);
                w.WriteNumber("iova", f.Iova);
                w.WriteNumber("access", f.Access);
                w.WriteString("access_name", f.AccessName);
                w.WriteNumber("type", f.Type);
                w.WriteString("type_name", f.TypeName);
                w.WriteNumber("level", f.Level);
                w.WriteNumber("fsr", f.Fsr);
                w.WriteNumber("fsynr0", f.Fsynr0);
                w.WriteEndObject();
            }
            output.WriteLine(Encoding.UTF8.GetString(buffer.WrittenSpan));
        }
        else
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{Columns.Format(f.Time)}  instance {f.Instance}  stream {f.StreamId}  cb {f.ContextBank}  asid {f.Asid}  domain 0x{f.ActiveDomain:x8}  iova 0x{f.Iova:x12}  {f.AccessName,-14}  {f.TypeName,-12}  level {f.Level}  fsr 0x{f.Fsr:x8}  fsynr0 0x{f.Fsynr0:x8}"));
        }
        output.Flush();
    }
}
