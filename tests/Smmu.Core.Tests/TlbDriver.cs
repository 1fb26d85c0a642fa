using Smmu.Core.Translation;

namespace Smmu.Core.Tests;

/// <summary>
/// A <see cref="Tlb"/> driven at one kernel width, for tests that exercise the TLB on its own. The model
/// itself never dispatches on the width (its translator is generic on the kernel); this switch is the
/// tests' way of calling every width on any CPU.
/// </summary>
internal sealed class TlbDriver(int entries, int ways, SimdWidth width) : IDisposable
{
    public Tlb Tlb { get; } = new(entries, ways);
    public SimdWidth Width { get; } = width;
    public int Entries => Tlb.Entries;
    public int Ways => Tlb.Ways;
    public int Sets => Tlb.Sets;
    public uint SizeClassesPresent => Tlb.SizeClassesPresent;

    public int Lookup(ulong iova, ushort asid) => Width switch
    {
        SimdWidth.Vector512 => Tlb.Lookup<Vector512Kernel>(iova, asid),
        SimdWidth.Vector256 => Tlb.Lookup<Vector256Kernel>(iova, asid),
        SimdWidth.Vector128 => Tlb.Lookup<Vector128Kernel>(iova, asid),
        _ => Tlb.Lookup<ScalarKernel>(iova, asid),
    };

    public int Fill(ulong iova, ushort asid, in WalkLeaf leaf) => Width switch
    {
        SimdWidth.Vector512 => Tlb.Fill<Vector512Kernel>(iova, asid, leaf),
        SimdWidth.Vector256 => Tlb.Fill<Vector256Kernel>(iova, asid, leaf),
        SimdWidth.Vector128 => Tlb.Fill<Vector128Kernel>(iova, asid, leaf),
        _ => Tlb.Fill<ScalarKernel>(iova, asid, leaf),
    };

    public int InvalidateAll() => Width switch
    {
        SimdWidth.Vector512 => Tlb.InvalidateAll<Vector512Kernel>(),
        SimdWidth.Vector256 => Tlb.InvalidateAll<Vector256Kernel>(),
        SimdWidth.Vector128 => Tlb.InvalidateAll<Vector128Kernel>(),
        _ => Tlb.InvalidateAll<ScalarKernel>(),
    };

    public int InvalidateAsid(ushort asid) => Width switch
    {
        SimdWidth.Vector512 => Tlb.InvalidateAsid<Vector512Kernel>(asid),
        SimdWidth.Vector256 => Tlb.InvalidateAsid<Vector256Kernel>(asid),
        SimdWidth.Vector128 => Tlb.InvalidateAsid<Vector128Kernel>(asid),
        _ => Tlb.InvalidateAsid<ScalarKernel>(asid),
    };

    /// <summary>One ASID's range, or with <paramref name="asid"/> 0 every ASID's (TLBIVAA).</summary>
    public int InvalidateRange(ushort asid, ulong first, ulong last) => (Width, asid) switch
    {
        (SimdWidth.Vector512, 0) => Tlb.InvalidateRangeAllAsids<Vector512Kernel>(first, last),
        (SimdWidth.Vector256, 0) => Tlb.InvalidateRangeAllAsids<Vector256Kernel>(first, last),
        (SimdWidth.Vector128, 0) => Tlb.InvalidateRangeAllAsids<Vector128Kernel>(first, last),
        (_, 0) => Tlb.InvalidateRangeAllAsids<ScalarKernel>(first, last),
        (SimdWidth.Vector512, _) => Tlb.InvalidateRange<Vector512Kernel>(asid, first, last),
        (SimdWidth.Vector256, _) => Tlb.InvalidateRange<Vector256Kernel>(asid, first, last),
        (SimdWidth.Vector128, _) => Tlb.InvalidateRange<Vector128Kernel>(asid, first, last),
        _ => Tlb.InvalidateRange<ScalarKernel>(asid, first, last),
    };

    public ulong OutputOf(int entry, ulong iova) => Tlb.OutputOf(entry, iova);
    public AccessRights RightsOf(int entry) => Tlb.RightsOf(entry);
    public Tlb.EntryImage EntryAt(int entry) => Tlb.EntryAt(entry);
    public int ValidEntries() => Tlb.ValidEntries();
    public int SizeClassOf(int entry) => Tlb.SizeClassOf(entry);
    public int SetOf(ulong iova, ushort asid, int sizeClass) => Tlb.SetOf(iova, asid, sizeClass);
    public void Dispose() => Tlb.Dispose();

    public static implicit operator Tlb(TlbDriver driver) => driver.Tlb;
}
