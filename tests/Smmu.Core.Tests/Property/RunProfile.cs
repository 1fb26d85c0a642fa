namespace Smmu.Core.Tests.Property;

/// <summary>
/// The configuration of one property run (one row of <see cref="ModelPropertyTests"/> or
/// <see cref="NestedModelPropertyTests"/>).
/// </summary>
/// <param name="Run">The row's number: part of every seed, so rows never share samples.</param>
/// <param name="Width">The TLB kernel, forced (every width runs on any CPU).</param>
/// <param name="Churn">Weight of detach and attach in the operation mix (translate has 430).</param>
/// <param name="SpareAsids">
/// With 8-bit ASIDs, fill the ASID space with idle dynamic domains until only this many ASIDs are free, so
/// that a detach and an attach hand a freed ASID to the next domain at once — while the previous owner's
/// entries could still be cached — instead of after ~250 allocations; <see cref="NoFillers"/> for none.
/// </param>
/// <param name="GranuleShift">log2 of every domain's granule: 12, 14 or 16 (set before the first map and attach).</param>
/// <param name="Split">The base domain is SPLIT_TTBR1: its tables are the bank's TTBR1 half, TTBR0 the active dynamic domain's.</param>
/// <param name="Stage2">
/// A stage-2 run: a stage-2 domain maps the table pool (IPA = PA) and a data window, is the base domain's
/// NEST_PARENT (the bank translates IOVA → IPA → PA), and is attached alone on a second stream (IPA → PA).
/// </param>
internal sealed record RunProfile(int Run, SimdWidth Width, uint TlbEntries, uint TlbWays, uint AsidBits,
                                  SmmuConfigFlags Flags, int Churn, int SpareAsids, uint Ias,
                                  int GranuleShift = 12, bool Split = false, bool Stage2 = false, uint Oas = 48)
{
    public const int NoFillers = -1;

    /// <summary>The stream of the stage-2 domain attached alone (a stage-2 run).</summary>
    public const uint Stage2Stream = 1;

    /// <summary>The most steps in a sample (see <see cref="OperationGenerators.Sequence"/>): about 1.3 operations each.</summary>
    public int MaxSteps => 500;

    /// <summary>Idle dynamic domains that fill the ASID space (<see cref="SpareAsids"/>).</summary>
    public int Fillers => SpareAsids == NoFillers ? 0 : (1 << (int)AsidBits) - 1 - ReferenceModel.Slots - SpareAsids;

    public ReferenceGeometry Geometry => ReferenceGeometry.For(GranuleShift);

    /// <summary>The table pool's size (the test default's).</summary>
    public ulong PoolBytes => TestSmmu.DefaultConfig.PtPoolBytes;

    public SmmuInstance CreateInstance() => TestSmmu.Create(
        c => c with { TlbEntries = TlbEntries, TlbWays = TlbWays, AsidBits = AsidBits, Flags = Flags, Ias = Ias, Oas = Oas }, Width);

    public override string ToString() =>
        $"run {Run}: {Geometry.Name} granule{(Split ? ", split TTBR0/TTBR1" : "")}{(Stage2 ? ", nested under stage 2 + stage 2 alone" : "")}, "
        + $"{Width}, TLB {TlbEntries}x{TlbWays}, {AsidBits}-bit ASIDs"
        + (SpareAsids == NoFillers ? "" : $" ({SpareAsids} spare)") + $", {Flags}, churn {Churn}, ias {Ias}, oas {Oas}";
}
