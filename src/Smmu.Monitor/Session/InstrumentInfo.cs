namespace Smmu.Monitor.Session;

/// <summary>One instrument of the <c>Smmu</c> meter, as the process announced it (BeginInstrumentReporting).</summary>
/// <param name="Name">e.g. <c>smmu.translations</c>.</param>
/// <param name="Kind">The .NET instrument type, e.g. <c>ObservableCounter`1</c>.</param>
/// <param name="Unit">UCUM-style unit, e.g. <c>{translation}</c>.</param>
/// <param name="Description">What it counts.</param>
public sealed record InstrumentInfo(string Name, string Kind, string Unit, string Description)
{
    /// <summary>True for counts that only grow: the session reports their total and their increase per interval.</summary>
    public bool IsCounter => Kind.StartsWith("ObservableCounter", StringComparison.Ordinal) || Kind.StartsWith("Counter", StringComparison.Ordinal);
}

/// <summary>One instrument's reading for one instance in one interval.</summary>
/// <param name="Value">The total (counters), the level (up-down counters) or the last value (gauges).</param>
/// <param name="Delta">Counters and up-down counters: the change over the interval; null for gauges and for the first interval.</param>
public readonly record struct InstrumentValue(double Value, double? Delta);

/// <summary>Every instrument's reading for one SMMU instance.</summary>
/// <param name="Instance">The instance's id (<c>SmmuInstance.Id</c>: 1, 2, … in creation order).</param>
/// <param name="Values">Instrument name → reading.</param>
public sealed record InstanceSample(int Instance, IReadOnlyDictionary<string, InstrumentValue> Values);

/// <summary>One collection interval of the <c>Smmu</c> meter.</summary>
/// <param name="Start">Interval start (the process's clock, UTC).</param>
/// <param name="End">Interval end.</param>
/// <param name="Instruments">The instruments known so far, in the order the process created them.</param>
/// <param name="Instances">One sample per live instance, by instance id.</param>
public sealed record MetricsInterval(DateTime Start, DateTime End, IReadOnlyList<InstrumentInfo> Instruments, IReadOnlyList<InstanceSample> Instances)
{
    /// <summary>Length of the interval in seconds (at least a millisecond, for rates).</summary>
    public double Seconds => Math.Max((End - Start).TotalSeconds, 0.001);
}

/// <summary>
/// One fault, from the <c>Smmu</c> EventSource: the fields of the model's <c>smmu_fault</c> record and
/// the id of the instance that raised it.
/// </summary>
public sealed record FaultEvent(
    DateTime Time, int Instance, uint StreamId, uint ContextBank, uint Asid, uint ActiveDomain, ulong Iova,
    uint Access, uint Type, uint Level, uint Fsr, uint Fsynr0)
{
    /// <summary><c>SMMU_FAULT_*</c> names, by number (smmu.h; checked against FaultType by the tests).</summary>
    public static readonly IReadOnlyDictionary<uint, string> TypeNames = new Dictionary<uint, string>
    {
        [1] = "translation", [2] = "permission", [3] = "access_flag", [4] = "address_size", [5] = "external",
    };

    /// <summary>The fault type's name, or its number.</summary>
    public string TypeName => TypeNames.TryGetValue(Type, out string? name) ? name : Type.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The access flags (<c>SMMU_ACCESS_*</c>) as <c>read|write|exec|priv</c>.</summary>
    public string AccessName
    {
        get
        {
            var parts = new List<string>(4);
            if ((Access & 0x1) != 0) parts.Add("read");
            if ((Access & 0x2) != 0) parts.Add("write");
            if ((Access & 0x4) != 0) parts.Add("exec");
            if ((Access & 0x8) != 0) parts.Add("priv");
            return parts.Count == 0 ? "none" : string.Join('|', parts);
        }
    }
}
