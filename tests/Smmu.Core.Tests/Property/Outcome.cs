namespace Smmu.Core.Tests.Property;

/// <summary>
/// What one translation (or <c>iova_to_phys</c>) came to: a result code, the output address when it is
/// <see cref="SmmuError.Ok"/>, and for <see cref="SmmuError.Fault"/> the fault's type and level as the
/// context bank recorded them. Two outcomes are equal when a caller could not tell them apart.
/// </summary>
internal readonly record struct Outcome(int Rc, ulong Pa, FaultType Fault, uint Level)
{
    public static Outcome Translated(ulong pa) => new(SmmuError.Ok, pa, FaultType.None, 0);

    public static Outcome Faulted(FaultType type, uint level) => new(SmmuError.Fault, 0, type, level);

    public static Outcome Failed(int rc) => new(rc, 0, FaultType.None, 0);

    public bool IsOk => Rc == SmmuError.Ok;

    public override string ToString() => Rc switch
    {
        SmmuError.Ok => $"Ok pa 0x{Pa:X}",
        SmmuError.Fault => $"Fault {Fault} level {Level}",
        _ => $"{Rc} ({SmmuError.Describe(Rc)})",
    };
}

/// <summary>
/// The outcomes the reference accepts for one translation. Today exactly one: every change that could
/// leave a stale TLB entry invalidates it at once, so the tables are the only truth. Deferred invalidation
/// (unmap with a gather, sync later) will accept the new truth or the still-cached old output until the
/// sync; the reference then returns both, and nothing that compares needs to change.
/// </summary>
internal readonly struct Outcomes
{
    private readonly Outcome[]? _alternatives;

    public Outcomes(Outcome truth, params Outcome[] alternatives)
    {
        Truth = truth;
        _alternatives = alternatives.Length == 0 ? null : alternatives;
    }

    /// <summary>The architectural answer from the tables alone.</summary>
    public Outcome Truth { get; }

    /// <summary>Whether <paramref name="outcome"/> is one of the accepted ones.</summary>
    public bool Accepts(Outcome outcome)
    {
        if (outcome == Truth)
            return true;
        return _alternatives != null && Array.IndexOf(_alternatives, outcome) >= 0;
    }

    public static implicit operator Outcomes(Outcome truth) => new(truth);

    public override string ToString() => _alternatives == null ? Truth.ToString() : $"{Truth} or {string.Join(" or ", _alternatives)}";
}
