using Smmu.Core.Translation;

namespace Smmu.Core.Tests;

/// <summary>
/// A <see cref="Tlb"/> driven at one kernel width, for tests that exercise the TLB on its own. The model
/// itself never dispatches on the width (its translator is generic on the kernel); this switch is the
/// tests' way of calling every width on any CPU. Overloads taking a bare ASID use VMID 0, stage-1 input.
/// </summary>
internal sealed class TlbDriver(int entries, int ways, SimdWidth width) : IDisposable
{
    public Tlb Tlb { get; } = new(entries, ways);
    public SimdWidth Width { get; } = width;
    public int Entries => Tlb.Entries;
    public int Ways => Tlb.Ways;
    public int Sets => Tlb.Sets;
    public uint SizeClassesPresent => Tlb.SizeClassesPresent;

    public static TlbContext Context(ushort asid, ushort vmid = 0, bool stage2Input = false) => new(asid, vmid, stage2Input);

    /// <summary>A 4 KiB-granule leaf at <paramref name="level"/> (3: 4K, 2: 2M, 1: 1G).</summary>
    public static WalkLeaf Leaf4K(ulong output, int level, AccessRights rights, bool global = false) =>
        new(output, level, 12 + 9 * (3 - level), rights, global);

    public int Lookup(ulong input, ushort asid) => Lookup(input, Context(asid));

    public int Lookup(ulong input, in TlbContext context) => Width switch
    {
        SimdWidth.Vector512 => Tlb.Lookup<Vector512Kernel>(input, context),
        SimdWidth.Vector256 => Tlb.Lookup<Vector256Kernel>(input, context),
        SimdWidth.Vector128 => Tlb.Lookup<Vector128Kernel>(input, context),
        _ => Tlb.Lookup<ScalarKernel>(input, context),
    };

    public int Fill(ulong input, ushort asid, in WalkLeaf leaf) => Fill(input, Context(asid), leaf);

    public int Fill(ulong input, in TlbContext context, in WalkLeaf leaf) => Width switch
    {
        SimdWidth.Vector512 => Tlb.Fill<Vector512Kernel>(input, context, leaf),
        SimdWidth.Vector256 => Tlb.Fill<Vector256Kernel>(input, context, leaf),
        SimdWidth.Vector128 => Tlb.Fill<Vector128Kernel>(input, context, leaf),
        _ => Tlb.Fill<ScalarKernel>(input, context, leaf),
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

    /// <summary>One ASID's range and the global entries in it (TLBIVA), or with <paramref name="asid"/> 0 every ASID's (TLBIVAA); VMID 0.</summary>
    public int InvalidateRange(ushort asid, ulong first, ulong last) =>
        asid == 0 ? InvalidateVaAllAsids(first, last, 0, anyVmid: false) : InvalidateVa(asid, first, last, 0, anyVmid: false);

    public int InvalidateVa(ushort asid, ulong first, ulong last, ushort vmid, bool anyVmid)
    {
        ulong tagBase = (ulong)vmid << TlbLayout.VmidShift;
        return Width switch
        {
            SimdWidth.Vector512 => Tlb.InvalidateVa<Vector512Kernel, EmptyWays>(asid, first, last, tagBase, anyVmid),
            SimdWidth.Vector256 => Tlb.InvalidateVa<Vector256Kernel, EmptyWays>(asid, first, last, tagBase, anyVmid),
            SimdWidth.Vector128 => Tlb.InvalidateVa<Vector128Kernel, EmptyWays>(asid, first, last, tagBase, anyVmid),
            _ => Tlb.InvalidateVa<ScalarKernel, EmptyWays>(asid, first, last, tagBase, anyVmid),
        };
    }

    public int InvalidateVaAllAsids(ulong first, ulong last, ushort vmid, bool anyVmid)
    {
        ulong tagBase = (ulong)vmid << TlbLayout.VmidShift;
        return Width switch
        {
            SimdWidth.Vector512 => Tlb.InvalidateVaAllAsids<Vector512Kernel, EmptyWays>(first, last, tagBase, anyVmid),
            SimdWidth.Vector256 => Tlb.InvalidateVaAllAsids<Vector256Kernel, EmptyWays>(first, last, tagBase, anyVmid),
            SimdWidth.Vector128 => Tlb.InvalidateVaAllAsids<Vector128Kernel, EmptyWays>(first, last, tagBase, anyVmid),
            _ => Tlb.InvalidateVaAllAsids<ScalarKernel, EmptyWays>(first, last, tagBase, anyVmid),
        };
    }

    public int InvalidateVmid(ushort vmid, bool stage1Only) => Width switch
    {
        SimdWidth.Vector512 => Tlb.InvalidateVmid<Vector512Kernel, EmptyWays>(vmid, stage1Only),
        SimdWidth.Vector256 => Tlb.InvalidateVmid<Vector256Kernel, EmptyWays>(vmid, stage1Only),
        SimdWidth.Vector128 => Tlb.InvalidateVmid<Vector128Kernel, EmptyWays>(vmid, stage1Only),
        _ => Tlb.InvalidateVmid<ScalarKernel, EmptyWays>(vmid, stage1Only),
    };

    public int InvalidateIpa(ushort vmid, ulong first, ulong last)
    {
        ulong tagBase = (ulong)vmid << TlbLayout.VmidShift | TlbLayout.Stage2InputFlag;
        return Width switch
        {
            SimdWidth.Vector512 => Tlb.InvalidateIpa<Vector512Kernel, EmptyWays>(first, last, tagBase),
            SimdWidth.Vector256 => Tlb.InvalidateIpa<Vector256Kernel, EmptyWays>(first, last, tagBase),
            SimdWidth.Vector128 => Tlb.InvalidateIpa<Vector128Kernel, EmptyWays>(first, last, tagBase),
            _ => Tlb.InvalidateIpa<ScalarKernel, EmptyWays>(first, last, tagBase),
        };
    }

    public ulong OutputOf(int entry, ulong input) => Tlb.OutputOf(entry, input);
    public AccessRights RightsOf(int entry) => Tlb.RightsOf(entry);
    public Tlb.EntryImage EntryAt(int entry) => Tlb.EntryAt(entry);
    public int ValidEntries() => Tlb.ValidEntries();
    public int SizeClassOf(int entry) => Tlb.SizeClassOf(entry);
    public int SetOf(ulong input, ushort asid, int sizeClass) => Tlb.SetOf(input, asid, sizeClass);
    public void Dispose() => Tlb.Dispose();

    public static implicit operator Tlb(TlbDriver driver) => driver.Tlb;
}
