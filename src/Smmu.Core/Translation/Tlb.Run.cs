using System.Numerics;
using System.Runtime.CompilerServices;

namespace Smmu.Core.Translation;

/// <summary>The batch hot loop: translations that hit, back to back, with the TLB's state in registers.</summary>
internal sealed unsafe partial class Tlb
{
    /// <summary>
    /// Translates inputs[start..count) into outputs while each one either hits with the rights it needs
    /// (its ASID's entry, or one without an ASID) or misses and walks cleanly to a leaf with those rights
    /// (which fills the TLB). Returns the index of the first that does neither — a fault, to be raised by
    /// the caller — or count. <paramref name="entry"/> is what the lookup of that one found: -1 for a miss,
    /// else the entry without the rights. <paramref name="walks"/> counts the misses the run walked and filled.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int TranslateRun<TKernel>(ref ulong inputs, ref ulong outputs, int start, int count, in TlbContext context, AccessRights need,
                                     in WalkContext walk, ref int walks, ref int descriptorReads, out int entry)
        where TKernel : struct, ITlbKernel
    {
        int i = start;
        while (true)
        {
            i = RunHits<TKernel>(ref inputs, ref outputs, i, count, context, need, out int found);
            if (i == count)
            {
                entry = found;
                return i;
            }
            ulong input = Unsafe.Add(ref inputs, i);
            if (found < 0 && _noAsidClasses != 0 && BitOperations.IsPow2(_sizeClasses))
                found = LookupNoAsid<TKernel>(input, context);   // a global entry lives in its unsalted set (RunHitsAnyClass probed it already)
            if (found >= 0)
            {
                if ((need & ~RightsOf(found)) != 0)
                {
                    entry = found;   // a hit without the rights: the caller raises the permission fault
                    return i;
                }
                Unsafe.Add(ref outputs, i) = OutputOf(found, input);
                i++;
                continue;
            }
            found = FillFromWalk<TKernel>(input, context, need, walk, ref descriptorReads);
            if (found < 0)
            {
                entry = -1;      // a fault: the caller walks again and raises it
                return i;
            }
            walks++;
            Unsafe.Add(ref outputs, i) = OutputOf(found, input);
            i++;
        }
    }

    /// <summary>
    /// The hit loops: translate from <paramref name="start"/> while lookups of the context's own ASID hit
    /// with the rights needed. Return where they stopped; <paramref name="found"/> is -1 for a miss, else
    /// the entry that lacked the rights. Call-free, so their state stays in registers. When one size class
    /// is cached (the usual case: a workload maps pages, or blocks), its shift and masks are loop
    /// invariants. The two loops repeat their set-up on purpose: one loop specialized through a type
    /// parameter measured 5-7 % slower on every hit workload of the peers harness.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int RunHits<TKernel>(ref ulong inputs, ref ulong outputs, int start, int count, in TlbContext context, AccessRights need, out int found)
        where TKernel : struct, ITlbKernel
    {
        uint classes = _sizeClasses;
        return BitOperations.IsPow2(classes)
            ? RunHitsOneClass<TKernel>(ref inputs, ref outputs, start, count, context.Asid, context.Salt, context.TagBase, need,
                                       BitOperations.TrailingZeroCount(classes), out found)
            : RunHitsAnyClass<TKernel>(ref inputs, ref outputs, start, count, context.Asid, context.Salt, context.TagBase, need, classes,
                                       out found);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int RunHitsOneClass<TKernel>(ref ulong inputs, ref ulong outputs, int start, int count, ushort asid, ulong salt, ulong tagBase,
                                         AccessRights need, int sizeClass, out int found)
        where TKernel : struct, ITlbKernel
    {
        // Copies in locals: stores through `outputs` would otherwise make the JIT reload every field.
        ulong* tags = _tags;
        ushort* asids = _asids;
        ulong* entryOutputs = _outputs;
        byte* info = _info;
        ulong setMask = _setMask;
        int waysLog2 = _waysLog2;
        uint groupMask = _groupMask;
        nint ways = Ways;
        uint required = (uint)need;
        ulong offsetMask = (1UL << TlbLayout.SizeClassShift(sizeClass)) - 1;
        int entry = -1;   // a local, not the out parameter: the loop keeps it in a register

        int i = start;
        for (; i < count; i++)
        {
            ulong input = Unsafe.Add(ref inputs, i);
            entry = Probe<TKernel>(tags, asids, input, asid, salt, tagBase, sizeClass, setMask, waysLog2, groupMask, ways);
            if (entry < 0 || (required & ~(uint)info[entry]) != 0)
                break;
            Unsafe.Add(ref outputs, i) = entryOutputs[entry] | (input & offsetMask);
        }
        found = entry;
        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int RunHitsAnyClass<TKernel>(ref ulong inputs, ref ulong outputs, int start, int count, ushort asid, ulong salt, ulong tagBase,
                                         AccessRights need, uint classes, out int found)
        where TKernel : struct, ITlbKernel
    {
        ulong* tags = _tags;
        ushort* asids = _asids;
        ulong* entryOutputs = _outputs;
        byte* info = _info;
        ulong setMask = _setMask;
        int waysLog2 = _waysLog2;
        uint groupMask = _groupMask;
        nint ways = Ways;
        uint required = (uint)need;
        uint noAsid = asid == TlbLayout.NoAsid ? 0 : _noAsidClasses;   // a context without an ASID probes those sets already
        int entry = -1;

        int i = start;
        for (; i < count; i++)
        {
            ulong input = Unsafe.Add(ref inputs, i);
            entry = -1;
            int sizeClass = 0;
            for (uint left = classes; left != 0 && entry < 0; left &= left - 1)   // smallest first, as Lookup: own set, then the unsalted one
            {
                sizeClass = BitOperations.TrailingZeroCount(left);
                entry = Probe<TKernel>(tags, asids, input, asid, salt, tagBase, sizeClass, setMask, waysLog2, groupMask, ways);
                if (entry < 0 && (noAsid & (1u << sizeClass)) != 0)
                    entry = Probe<TKernel>(tags, asids, input, TlbLayout.NoAsid, 0, tagBase, sizeClass, setMask, waysLog2, groupMask, ways);
            }
            if (entry < 0 || (required & ~(uint)info[entry]) != 0)
                break;
            Unsafe.Add(ref outputs, i) = entryOutputs[entry] | (input & ((1UL << TlbLayout.SizeClassShift(sizeClass)) - 1));
        }
        found = entry;
        return i;
    }

    /// <summary>
    /// A miss inside a run: walks, and if the walk ends at a leaf granting <paramref name="need"/>, fills the
    /// TLB and returns the entry; otherwise returns -1 and leaves the fault (and its fill) to the slow path.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int FillFromWalk<TKernel>(ulong input, in TlbContext context, AccessRights need, in WalkContext walk, ref int descriptorReads)
        where TKernel : struct, ITlbKernel
    {
        if (walk.Walk(input, out WalkLeaf leaf, out WalkInfo info) != FaultType.None || (need & ~leaf.Rights) != 0)
            return -1;   // the slow path walks again (and counts that walk's reads)
        descriptorReads += info.DescriptorReads;
        return Fill<TKernel>(input, context, leaf);
    }
}
