using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Smmu.Core.PageTables;

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
            if (walk.IsStage1Granule4K)
            {
                MissRunEnd end = MissRunEnd.Declined;
                if (HoldsPagesOnlyOneGroup(context))
                    i = RunPageMissesOneGroup<TKernel>(ref inputs, ref outputs, i, count, context, need, walk, ref walks, ref descriptorReads,
                                                       out end);
                if (end == MissRunEnd.Declined)
                {
                    i = RunMissesStage1Granule4K<TKernel>(ref inputs, ref outputs, i, count, context, need, walk, ref walks, ref descriptorReads,
                                                          out bool faulted);
                    end = faulted ? MissRunEnd.Faulted : MissRunEnd.NextHits;
                }
                if (end == MissRunEnd.Faulted)
                {
                    entry = -1;  // a fault: the caller walks again and raises it
                    return i;
                }
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
        if (BitOperations.IsPow2(classes) && Ways == TlbLayout.GroupWays)
            return RunHitsOneClassOneGroup<TKernel>(ref inputs, ref outputs, start, count, context, need, BitOperations.TrailingZeroCount(classes),
                                                    out found);
        return BitOperations.IsPow2(classes)
            ? RunHitsOneClass<TKernel>(ref inputs, ref outputs, start, count, context.Asid, context.Salt, context.TagBase, need,
                                       BitOperations.TrailingZeroCount(classes), out found)
            : RunHitsAnyClass<TKernel>(ref inputs, ref outputs, start, count, context.Asid, context.Salt, context.TagBase, need, classes,
                                       out found);
    }

    /// <summary>
    /// <see cref="RunHitsOneClass"/> for the default geometry, a set of exactly one group of ways (8): one compare
    /// a probe, no way loop, and the tag and set arithmetic reduced to loop invariants, so the loop's state fits
    /// the registers (the general loop's does not, and spills on every translation).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int RunHitsOneClassOneGroup<TKernel>(ref ulong inputs, ref ulong outputs, int start, int count, in TlbContext context,
                                                 AccessRights need, int sizeClass, out int found)
        where TKernel : struct, ITlbKernel
    {
        const int WaysLog2 = 3;   // TlbLayout.GroupWays
        ulong* tags = _tags;
        ushort* asids = _asids;
        ulong* entryOutputs = _outputs;
        byte* info = _info;
        ulong setMask = _setMask;
        ushort asid = context.Asid;
        ulong salt = context.Salt;
        int shift = TlbLayout.SizeClassShift(sizeClass);
        ulong offsetMask = (1UL << shift) - 1;
        ulong tagXor = context.TagBase | (uint)sizeClass;   // TagOf: (aligned input ^ tag base) | class, the tag base has no low bits
        uint required = (uint)need;
        int entry = -1;
        int i = start;
        for (; i < count; i++)
        {
            ulong input = Unsafe.Add(ref inputs, i);
            nint set = (nint)(((input >> shift) ^ salt) & setMask) << WaysLog2;
            uint match = TKernel.MatchGroup(tags + set, asids + set, (input & ~offsetMask) ^ tagXor, asid);
            if (match == 0)
            {
                entry = -1;
                break;
            }
            entry = (int)set + BitOperations.TrailingZeroCount(match);
            if ((required & ~(uint)info[entry]) != 0)
                break;
            Unsafe.Add(ref outputs, i) = entryOutputs[entry] | (input & offsetMask);
        }
        found = entry;
        return i;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
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

    [MethodImpl(MethodImplOptions.NoInlining)]
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

    /// <summary>
    /// A streak of misses inside a run, for a stage-1 bank with the 4 KiB granule (the common case): from
    /// <paramref name="i"/>, an input that missed, walk and fill each input while the next one misses too,
    /// in one call-free loop. The next input is probed before this one is walked; if it misses, its tables
    /// are descended and its leaf's line fetched (<see cref="Memory.PagePool.Prefetch"/>) before this walk's last
    /// load, so consecutive walks' cache misses overlap, and its walk resumes where the descent stopped.
    /// Returns where it stopped: at <paramref name="count"/>, at an input that hits (the hit loop takes it),
    /// or, with <paramref name="faulted"/>, at one whose walk faults or denies the access (the slow path walks
    /// again and raises it).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int RunMissesStage1Granule4K<TKernel>(ref ulong inputs, ref ulong outputs, int i, int count, in TlbContext context, AccessRights need,
                                                  in WalkContext walk, ref int walks, ref int descriptorReads, out bool faulted)
        where TKernel : struct, ITlbKernel
    {
        int startLevel = walk.Stage1.StartLevel;
        // The probe's columns and masks in locals, as the hit loops keep them (fields would be read again after
        // every store the fill makes).
        ulong* tags = _tags;
        ushort* asids = _asids;
        ulong setMask = _setMask;
        int waysLog2 = _waysLog2;
        uint groupMask = _groupMask;
        nint ways = Ways;
        ushort asid = context.Asid;
        ulong salt = context.Salt, tagBase = context.TagBase;
        ulong input = Unsafe.Add(ref inputs, i);
        bool descended = Walker.DescendStage1Granule4K(walk, input, out ulong offset, out int level);
        while (true)
        {
            // The next one stays in this loop only if it certainly misses: with one size class cached and no
            // entry without an ASID that this context could match, one probe says so.
            bool nextMisses = false, nextDescended = false;
            ulong nextInput = 0, nextOffset = 0;
            int nextLevel = 0;
            if (i + 1 < count)
            {
                uint classes = _sizeClasses;
                nextInput = Unsafe.Add(ref inputs, i + 1);
                nextMisses = BitOperations.IsPow2(classes) && (_noAsidClasses == 0 || asid == TlbLayout.NoAsid)
                             && Probe<TKernel>(tags, asids, nextInput, asid, salt, tagBase, BitOperations.TrailingZeroCount(classes), setMask,
                                               waysLog2, groupMask, ways) < 0;
                if (nextMisses)
                    nextDescended = DescendAndPrefetchLeaf(walk, nextInput, out nextOffset, out nextLevel);
            }
            if (!descended || !TryFillLeaf4K<TKernel>(input, context, need, walk, offset, level, out ulong output, out int shift))
            {
                faulted = true;
                return i;
            }
            walks++;
            descriptorReads += level - startLevel + 1;
            Unsafe.Add(ref outputs, i) = output;
            i++;
            // The next probe came before this fill: if the next input lies in the leaf just cached, it hits now.
            if (!nextMisses || ((nextInput ^ input) >> shift) == 0)
            {
                faulted = false;
                return i;
            }
            input = nextInput;
            descended = nextDescended;
            offset = nextOffset;
            level = nextLevel;
        }
    }

    /// <summary>
    /// True in the TLB's usual state for <paramref name="context"/>: the default geometry (a set is one group of 8 ways),
    /// only 4 KiB pages cached, none without an ASID, and a context with an ASID — where a page's probe and fill reduce to
    /// <see cref="RunPageMissesOneGroup"/>'s and <see cref="FillPageOneGroup"/>'s arithmetic.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool HoldsPagesOnlyOneGroup(in TlbContext context) =>
        Ways == TlbLayout.GroupWays && _sizeClasses == 1u << TlbLayout.PageClass4K && _noAsidClasses == 0 && context.Asid != TlbLayout.NoAsid;

    /// <summary>
    /// The miss loops' look-ahead: descends <paramref name="input"/>'s table levels (<see cref="Walker.DescendStage1Granule4K"/>)
    /// and asks for its leaf descriptor's line, so that its walk's last load overlaps the current one's.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool DescendAndPrefetchLeaf(in WalkContext walk, ulong input, out ulong offset, out int level)
    {
        bool descended = Walker.DescendStage1Granule4K(walk, input, out offset, out level);
        if (descended)
            walk.Pool.Prefetch(offset);
        return descended;
    }

    /// <summary>How a miss loop stopped: before an input that hits (or at the end), at one the slow path must walk and raise, or
    /// (<see cref="RunPageMissesOneGroup"/> only) before one it leaves to <see cref="RunMissesStage1Granule4K"/>.</summary>
    private enum MissRunEnd { NextHits, Faulted, Declined }

    /// <summary>
    /// <see cref="RunMissesStage1Granule4K"/> for the TLB's usual state: the default geometry (a set is one group of
    /// 8 ways), only 4 KiB pages cached, none without an ASID, and a context with an ASID. Its probe of the next input
    /// and its fill of a page are then the hit loop's arithmetic, with the page's shift and class as constants and one
    /// compare for the way, and the loop's state comes closer to fitting the registers (the general loop spills on every
    /// miss). Same walk, same way choice and victim, same entry, same counts. It fills pages only: at an input whose walk
    /// ends anywhere else — a block or a global page (which would add a class or an entry without an ASID), a fault, a
    /// denial — it stops before that input with <see cref="MissRunEnd.Declined"/>, and the general loop takes it from there.
    /// It repeats the general loop's shape on purpose, as the hit loops do: one loop specialized through parameters would
    /// carry the general loop's live values, which is what this one exists to shed.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int RunPageMissesOneGroup<TKernel>(ref ulong inputs, ref ulong outputs, int i, int count, in TlbContext context, AccessRights need,
                                               in WalkContext walk, ref int walks, ref int descriptorReads, out MissRunEnd end)
        where TKernel : struct, ITlbKernel
    {
        const int PageShift = Geometry.Granule4K;
        const ulong OffsetMask = (1UL << PageShift) - 1;
        const int WaysLog2 = 3;   // TlbLayout.GroupWays
        ushort asid = context.Asid;
        ulong salt = context.Salt;
        ulong tagXor = context.TagBase | TlbLayout.PageClass4K;   // TagOf, as in the hit loop: the tag base has no low bits
        int pageReads = Geometry.LastLevel - walk.Stage1.StartLevel + 1;
        ulong input = Unsafe.Add(ref inputs, i);
        bool descended = Walker.DescendStage1Granule4K(walk, input, out ulong offset, out int level);
        while (true)
        {
            // As in the general loop: the next input is probed, and if it misses its tables descended and its leaf's line
            // fetched, before this walk's last load.
            bool nextMisses = false, nextDescended = false;
            ulong nextInput = 0, nextOffset = 0;
            int nextLevel = 0;
            if (i + 1 < count)
            {
                nextInput = Unsafe.Add(ref inputs, i + 1);
                nint nextSet = (nint)(((nextInput >> PageShift) ^ salt) & _setMask) << WaysLog2;
                nextMisses = TKernel.MatchGroup(_tags + nextSet, _asids + nextSet, (nextInput & ~OffsetMask) ^ tagXor, asid) == 0;
                if (nextMisses)
                    nextDescended = DescendAndPrefetchLeaf(walk, nextInput, out nextOffset, out nextLevel);
            }
            if (!descended || level != Geometry.LastLevel
                || !TryFillPageOneGroup<TKernel>(input, walk.Pool.WordAtOffset(offset), need, walk, asid, salt, tagXor, out ulong output))
            {
                end = MissRunEnd.Declined;
                return i;
            }
            walks++;
            descriptorReads += pageReads;
            Unsafe.Add(ref outputs, i) = output;
            i++;
            // The next probe came before this fill: if the next input lies in the page just cached, it hits now.
            if (!nextMisses || ((nextInput ^ input) >> PageShift) == 0)
            {
                end = MissRunEnd.NextHits;
                return i;
            }
            input = nextInput;
            descended = nextDescended;
            offset = nextOffset;
            level = nextLevel;
        }
    }
}
