namespace Smmu.Core.Tests.Property;

/// <summary>
/// What one translation (or <c>iova_to_phys</c>, or a map's or unmap's code) came to: a result code, the
/// output address when it is <see cref="SmmuError.Ok"/>, and for <see cref="SmmuError.Fault"/> the fault as
/// the context bank recorded it — type, level, stage, S1PTW and IPA (0 unless stage 2 faulted).
/// <see cref="NoRecord"/>: the translation returned Fault but left no fault record (only ever accepted as a
/// <see cref="KnownDeviations"/> case). Two outcomes are equal when a caller could not tell them apart.
/// </summary>
internal readonly record struct Outcome(int Rc, ulong Pa, FaultType Fault, uint Level, uint Stage, bool S1ptw, ulong Ipa, bool NoRecord = false)
{
    public static Outcome Translated(ulong pa) => new(SmmuError.Ok, pa, FaultType.None, 0, 0, false, 0);

    /// <summary>A stage-1 fault.</summary>
    public static Outcome Faulted(FaultType type, int level) => new(SmmuError.Fault, 0, type, (uint)level, 1, false, 0);

    /// <summary>A stage-2 fault at <paramref name="ipa"/>, while fetching a stage-1 table descriptor or not.</summary>
    public static Outcome Stage2Fault(FaultType type, int level, ulong ipa, bool s1ptw) => new(SmmuError.Fault, 0, type, (uint)level, 2, s1ptw, ipa);

    public static Outcome FaultWithoutRecord => new(SmmuError.Fault, 0, FaultType.None, 0, 0, false, 0, NoRecord: true);

    public static Outcome Failed(int rc) => new(rc, 0, FaultType.None, 0, 0, false, 0);

    /// <summary>A result code alone (map, unmap), Ok included.</summary>
    public static Outcome Code(int rc) => Failed(rc);

    public bool IsOk => Rc == SmmuError.Ok;

    public bool IsFault => Rc == SmmuError.Fault;

    public override string ToString() => Rc switch
    {
        SmmuError.Ok => $"Ok pa 0x{Pa:X}",
        SmmuError.Fault when NoRecord => "Fault with no fault record",
        SmmuError.Fault when Stage == 2 => $"Fault {Fault} at stage 2 level {Level}, IPA 0x{Ipa:X}{(S1ptw ? ", S1PTW" : "")}",
        SmmuError.Fault => $"Fault {Fault} level {Level}",
        _ => $"{Rc} ({SmmuError.Describe(Rc)})",
    };
}

/// <summary>
/// The outcomes the reference accepts for one operation: the truth — the architectural answer from the
/// tables alone — and alternatives, each with the reason it is acceptable: a global entry another domain
/// may have left in the TLB (which matches every ASID until an invalidation reaches it), or a
/// <see cref="KnownDeviations"/> case. Deferred invalidation would add the still-cached old output the
/// same way.
/// </summary>
internal readonly struct Outcomes
{
    private readonly (Outcome Outcome, string Why)[]? _alternatives;

    public Outcomes(Outcome truth, IEnumerable<(Outcome Outcome, string Why)>? alternatives = null)
    {
        Truth = truth;
        var list = alternatives?.Where(a => a.Outcome != truth).ToArray();
        _alternatives = list is { Length: > 0 } ? list : null;
    }

    /// <summary>The architectural answer from the tables alone.</summary>
    public Outcome Truth { get; }

    public bool HasAlternatives => _alternatives != null;

    /// <summary>Whether <paramref name="outcome"/> is accepted; <paramref name="why"/> is null for the truth, else the alternative's reason.</summary>
    public bool Accepts(Outcome outcome, out string? why)
    {
        why = null;
        if (outcome == Truth)
            return true;
        if (_alternatives == null)
            return false;
        foreach (var (alternative, reason) in _alternatives)
        {
            if (alternative == outcome)
            {
                why = reason;
                return true;
            }
        }
        return false;
    }

    public static implicit operator Outcomes(Outcome truth) => new(truth);

    public override string ToString() =>
        _alternatives == null ? Truth.ToString() : $"{Truth}, or {string.Join(", or ", _alternatives.Select(a => $"{a.Outcome} ({a.Why})"))}";
}
