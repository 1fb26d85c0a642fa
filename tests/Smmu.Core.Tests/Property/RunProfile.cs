namespace Smmu.Core.Tests.Property;

/// <summary>
/// The configuration of one property run (one row of <see cref="ModelPropertyTests"/>).
/// </summary>
/// <param name="Run">The row's number: part of every seed, so rows never share samples.</param>
/// <param name="Width">The TLB kernel, forced (every width runs on any CPU).</param>
/// <param name="Churn">Weight of detach and attach in the operation mix (translate has 430).</param>
/// <param name="SpareAsids">
/// With 8-bit ASIDs, fill the ASID space with idle dynamic domains until only this many ASIDs are free, so
/// that a detach and an attach hand a freed ASID to the next domain at once — while the previous owner's
/// entries could still be cached — instead of after ~250 allocations; <see cref="NoFillers"/> for none.
/// </param>
internal sealed record RunProfile(int Run, SimdWidth Width, uint TlbEntries, uint TlbWays, uint AsidBits,
                                  SmmuConfigFlags Flags, int Churn, int SpareAsids, uint Ias)
{
    public const int NoFillers = -1;

    /// <summary>The most steps in a sample (see <see cref="OperationGenerators.Sequence"/>): about 1.3 operations each.</summary>
    public int MaxSteps => 500;

    /// <summary>Idle dynamic domains that fill the ASID space (<see cref="SpareAsids"/>).</summary>
    public int Fillers => SpareAsids == NoFillers ? 0 : (1 << (int)AsidBits) - 1 - ReferenceModel.Slots - SpareAsids;

    public SmmuInstance CreateInstance() => TestSmmu.Create(
        c => c with { TlbEntries = TlbEntries, TlbWays = TlbWays, AsidBits = AsidBits, Flags = Flags, Ias = Ias }, Width);

    public override string ToString() =>
        $"run {Run}: {Width}, TLB {TlbEntries}x{TlbWays}, {AsidBits}-bit ASIDs"
        + (SpareAsids == NoFillers ? "" : $" ({SpareAsids} spare)") + $", {Flags}, churn {Churn}, ias {Ias}";
}
