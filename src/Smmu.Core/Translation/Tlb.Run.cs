using System.Numerics;
using System.Runtime.CompilerServices;
using Smmu.Core.PageTables;

namespace Smmu.Core.Translation;

/// <summary>The batch hot loop: translations that hit, back to back, with the TLB's state in registers.</summary>
internal sealed unsafe partial class Tlb
{
    /// <summary>
    /// Translates iovas[start..count) into pas while each one either hits with the rights it needs or
    /// misses and walks cleanly to a leaf with those rights (which fills the TLB). Returns the index of the
    /// first that does neither — a fault, to be raised by the caller — or count. <paramref name="entry"/>
    /// is what the lookup of that one found: -1 for a miss, else the entry without the rights.
    /// <paramref name="walks"/> counts the misses the run walked and filled.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int TranslateRun<TKernel>(ref ulong iovas, ref ulong pas, int start, int count, ushort asid, AccessRights need,
                                     in WalkContext walk, ref int walks, out int entry)
        where TKernel : struct, ITlbKernel
    {
        int i = start;
        while (true)
        {
            i = RunHits<TKernel>(ref iovas, ref pas, i, count, asid, need, out int found);
            if (i == count || found >= 0)
            {
                entry = found;   // done, or a hit without the rights: the caller raises the permission fault
                return i;
            }
            ulong iova = Unsafe.Add(ref iovas, i);
            found = FillFromWalk<TKernel>(iova, asid, need, walk);
            if (found < 0)
            {
                entry = -1;      // a fault: the caller walks again and raises it
                return i;
            }
            walks++;
            Unsafe.Add(ref pas, i) = OutputOf(found, iova);
            i++;
        }
    }

    /// <summary>
    /// The hit loops: translate from <paramref name="start"/> while lookups hit with the rights needed.
    /// Return where they stopped; <paramref name="found"/> is -1 for a miss, else the entry that lacked
    /// the rights. Call-free, so their state stays in registers. When one size class is cached (the usual
    /// case: a workload maps pages, or blocks), its shift and masks are loop invariants. The two loops
    /// repeat their set-up on purpose: one loop specialized through a type parameter measured 5-7 %
    /// slower on every hit workload of the peers harness.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int RunHits<TKernel>(ref ulong iovas, ref ulong pas, int start, int count, ushort asid, AccessRights need, out int found)
        where TKernel : struct, ITlbKernel
    {
        uint classes = _sizeClasses;
        return BitOperations.IsPow2(classes)
            ? RunHitsOneClass<TKernel>(ref iovas, ref pas, start, count, asid, need, BitOperations.TrailingZeroCount(classes), out found)
            : RunHitsAnyClass<TKernel>(ref iovas, ref pas, start, count, asid, need, classes, out found);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int RunHitsOneClass<TKernel>(ref ulong iovas, ref ulong pas, int start, int count, ushort asid, AccessRights need,
                                         int sizeClass, out int found)
        where TKernel : struct, ITlbKernel
    {
        // Copies in locals: stores through `pas` would otherwise make the JIT reload every field.
        ulong* tags = _tags;
        ushort* asids = _asids;
        ulong* outputs = _outputs;
        byte* rights = _rights;
        ulong setMask = _setMask;
        int waysLog2 = _waysLog2;
        uint groupMask = _groupMask;
        nint ways = Ways;
        ulong salt = SetSalt(asid);
        uint required = (uint)need;
        ulong offsetMask = (1UL << Geometry.SizeClassShift(sizeClass)) - 1;
        int entry = -1;   // a local, not the out parameter: the loop keeps it in a register

        int i = start;
        for (; i < count; i++)
        {
            ulong iova = Unsafe.Add(ref iovas, i);
            entry = Probe<TKernel>(tags, asids, iova, asid, salt, sizeClass, setMask, waysLog2, groupMask, ways);
            if (entry < 0 || (required & ~(uint)rights[entry]) != 0)
                break;
            Unsafe.Add(ref pas, i) = outputs[entry] | (iova & offsetMask);
        }
        found = entry;
        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int RunHitsAnyClass<TKernel>(ref ulong iovas, ref ulong pas, int start, int count, ushort asid, AccessRights need,
                                         uint classes, out int found)
        where TKernel : struct, ITlbKernel
    {
        ulong* tags = _tags;
        ushort* asids = _asids;
        ulong* outputs = _outputs;
        byte* rights = _rights;
        ulong setMask = _setMask;
        int waysLog2 = _waysLog2;
        uint groupMask = _groupMask;
        nint ways = Ways;
        ulong salt = SetSalt(asid);
        uint required = (uint)need;
        int entry = -1;

        int i = start;
        for (; i < count; i++)
        {
            ulong iova = Unsafe.Add(ref iovas, i);
            entry = -1;
            int sizeClass = 0;
            for (; sizeClass < Geometry.SizeClassCount && entry < 0; sizeClass++)   // smallest first
            {
                if ((classes & (1u << sizeClass)) != 0)
                    entry = Probe<TKernel>(tags, asids, iova, asid, salt, sizeClass, setMask, waysLog2, groupMask, ways);
            }
            if (entry < 0 || (required & ~(uint)rights[entry]) != 0)
                break;
            Unsafe.Add(ref pas, i) = outputs[entry] | (iova & ((1UL << Geometry.SizeClassShift(sizeClass - 1)) - 1));
        }
        found = entry;
        return i;
    }

    /// <summary>
    /// A miss inside a run: walks, and if the walk ends at a leaf granting <paramref name="need"/>, fills the
    /// TLB and returns the entry; otherwise returns -1 and leaves the fault (and its fill) to the slow path.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int FillFromWalk<TKernel>(ulong iova, ushort asid, AccessRights need, in WalkContext walk) where TKernel : struct, ITlbKernel
    {
        if (walk.Walk(iova, out WalkLeaf leaf, out _) != FaultType.None || (need & ~leaf.Rights) != 0)
            return -1;
        return Fill<TKernel>(iova, asid, leaf);
    }
}
