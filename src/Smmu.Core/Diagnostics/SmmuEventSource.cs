using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Tracing;

namespace Smmu.Core.Diagnostics;

/// <summary>
/// The <c>Smmu</c> EventSource: every fault, as it is raised, with the fields of its
/// <see cref="SmmuFault"/> record and the id of the instance (<see cref="SmmuInstance.Id"/>). The model
/// calls <see cref="Fault(int, in SmmuFault)"/> only when <see cref="EventSource.IsEnabled()"/> is true,
/// i.e. while an EventPipe session, ETW/LTTng or an <see cref="EventListener"/> listens; otherwise a
/// fault costs one field load more. Listen with the provider name <c>Smmu</c>, keyword
/// <see cref="Keywords.Faults"/> (or all), at level Warning or a more verbose one.
/// </summary>
[EventSource(Name = SourceName)]
internal sealed class SmmuEventSource : EventSource
{
    /// <summary>The provider name.</summary>
    public const string SourceName = "Smmu";

    /// <summary>Event ids (stable: tools match on them).</summary>
    public const int FaultEventId = 1;
    public const int SanitizerReportEventId = 2;

    /// <summary>The one instance.</summary>
    public static readonly SmmuEventSource Log = new();

    private SmmuEventSource()
    {
    }

    /// <summary>Event keywords.</summary>
    public static class Keywords
    {
        /// <summary>Translation faults.</summary>
        public const EventKeywords Faults = (EventKeywords)0x1;
        /// <summary>The stale-TLB sanitizer's reports.</summary>
        public const EventKeywords Sanitizer = (EventKeywords)0x2;
    }

    /// <summary>Emits <paramref name="fault"/>, raised by instance <paramref name="instance"/>, to whoever listens.</summary>
    [NonEvent]
    public void Fault(int instance, in SmmuFault fault)
    {
        if (IsEnabled(EventLevel.Warning, Keywords.Faults))
        {
            Fault(instance, fault.StreamId, fault.ContextBank, fault.Asid, fault.ActiveDomain.Value, fault.Iova,
                  (uint)fault.Access, (uint)fault.Type, fault.Level, fault.Fsr, fault.Fsynr);
        }
    }

    /// <summary>A translation fault; the payload is <c>smmu_fault</c>'s fields (type and access as their numbers).</summary>
    [Event(FaultEventId, Level = EventLevel.Warning, Keywords = Keywords.Faults,
           Message = "instance {0}: fault type {7} level {8} at IOVA {5} (stream {1}, context bank {2}, ASID {3})")]
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Every payload field is a primitive (int, uint, ulong): nothing to trim.")]
    public unsafe void Fault(int instance, uint streamId, uint contextBank, uint asid, uint activeDomain, ulong iova,
                              uint access, uint type, uint level, uint fsr, uint fsynr0)
    {
        // WriteEventCore over stack data: no params object[] (no boxing, nothing for the trimmer to miss).
        EventData* data = stackalloc EventData[11];
        data[0] = Data(&instance, sizeof(int));
        data[1] = Data(&streamId, sizeof(uint));
        data[2] = Data(&contextBank, sizeof(uint));
        data[3] = Data(&asid, sizeof(uint));
        data[4] = Data(&activeDomain, sizeof(uint));
        data[5] = Data(&iova, sizeof(ulong));
        data[6] = Data(&access, sizeof(uint));
        data[7] = Data(&type, sizeof(uint));
        data[8] = Data(&level, sizeof(uint));
        data[9] = Data(&fsr, sizeof(uint));
        data[10] = Data(&fsynr0, sizeof(uint));
        WriteEventCore(FaultEventId, 11, data);
    }

    /// <summary>Emits a sanitizer <paramref name="report"/> of instance <paramref name="instance"/> to whoever listens.</summary>
    [NonEvent]
    public void SanitizerReport(int instance, in SmmuStaleReport report)
    {
        if (IsEnabled(EventLevel.Warning, Keywords.Sanitizer))
        {
            SanitizerReport(instance, (uint)report.Kind, report.StreamId, report.ContextBank, report.Asid, report.Vmid, report.Domain.Value,
                            report.Iova, report.IovaLast, report.StalePa, report.CurrentPa, (uint)report.CurrentFault);
        }
    }

    /// <summary>A stale-TLB sanitizer report; the payload is <c>smmu_stale_report</c>'s main fields (kind and fault as their numbers).</summary>
    [Event(SanitizerReportEventId, Level = EventLevel.Warning, Keywords = Keywords.Sanitizer,
           Message = "instance {0}: sanitizer report kind {1} at IOVA {7} (stream {2}, ASID {4}): stale PA {9}, current PA {10}, current fault {11}")]
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Every payload field is a primitive (int, uint, ulong): nothing to trim.")]
    public unsafe void SanitizerReport(int instance, uint kind, uint streamId, uint contextBank, uint asid, uint vmid, uint domain,
                                       ulong iova, ulong iovaLast, ulong stalePa, ulong currentPa, uint currentFault)
    {
        EventData* data = stackalloc EventData[12];
        data[0] = Data(&instance, sizeof(int));
        data[1] = Data(&kind, sizeof(uint));
        data[2] = Data(&streamId, sizeof(uint));
        data[3] = Data(&contextBank, sizeof(uint));
        data[4] = Data(&asid, sizeof(uint));
        data[5] = Data(&vmid, sizeof(uint));
        data[6] = Data(&domain, sizeof(uint));
        data[7] = Data(&iova, sizeof(ulong));
        data[8] = Data(&iovaLast, sizeof(ulong));
        data[9] = Data(&stalePa, sizeof(ulong));
        data[10] = Data(&currentPa, sizeof(ulong));
        data[11] = Data(&currentFault, sizeof(uint));
        WriteEventCore(SanitizerReportEventId, 12, data);
    }

    private static unsafe EventData Data(void* value, int size) => new() { DataPointer = (nint)value, Size = size };
}
