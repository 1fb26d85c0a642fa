using System.Numerics;
using System.Runtime.CompilerServices;

namespace Smmu.Core.Translation;

/// <summary>Finding an entry: the set an (input, ASID) lives in, and the vector compare of its ways.</summary>
internal sealed unsafe partial class Tlb
{
    /// <summary>
    /// Looks up <paramref name="input"/> (a VA, or an IPA for a stage-2-only bank) for a context bank's
    /// <paramref name="context"/>: the entry index, or -1 on a miss. The 4 KiB class with the bank's own
    /// ASID is probed inline; anything else (larger classes, entries without an ASID) out of line.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Lookup<TKernel>(ulong input, in TlbContext context) where TKernel : struct, ITlbKernel
    {
        uint classes = _sizeClasses;
        int entry = -1;
        if ((classes & 1) != 0)
            entry = ProbeClass<TKernel>(input, context.Asid, context.Salt, context.TagBase, 0);
        if (entry < 0 && (classes > 1 || _noAsidClasses != 0))
            entry = LookupOtherClasses<TKernel>(input, context, classes);
        return entry;
    }

    /// <summary>
    /// The rest of a lookup: each class present, smallest first — its salted set for the ASID, then, if
    /// the class holds entries without an ASID, its unsalted set for one. Class 0's salted set was probed.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int LookupOtherClasses<TKernel>(ulong input, in TlbContext context, uint classes) where TKernel : struct, ITlbKernel
    {
        uint noAsid = context.Asid == TlbLayout.NoAsid ? 0 : _noAsidClasses;   // a NoAsid context's own probe already was the unsalted one
        for (int sizeClass = 0; sizeClass < TlbLayout.SizeClassCount; sizeClass++)
        {
            uint bit = 1u << sizeClass;
            if ((classes & bit) == 0)
                continue;
            int entry = -1;
            if (sizeClass > 0)
                entry = ProbeClass<TKernel>(input, context.Asid, context.Salt, context.TagBase, sizeClass);
            if (entry < 0 && (noAsid & bit) != 0)
                entry = ProbeClass<TKernel>(input, TlbLayout.NoAsid, 0, context.TagBase, sizeClass);
            if (entry >= 0)
                return entry;
        }
        return -1;
    }

    /// <summary>Looks up only entries without an ASID (global, stage-2-only) for <paramref name="context"/>: the batch loop's second chance after a miss.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public int LookupNoAsid<TKernel>(ulong input, in TlbContext context) where TKernel : struct, ITlbKernel
    {
        uint classes = _noAsidClasses;
        for (int sizeClass = 0; classes != 0 && sizeClass < TlbLayout.SizeClassCount; sizeClass++, classes >>= 1)
        {
            if ((classes & 1) == 0)
                continue;
            int entry = ProbeClass<TKernel>(input, TlbLayout.NoAsid, 0, context.TagBase, sizeClass);
            if (entry >= 0)
                return entry;
        }
        return -1;
    }

    /// <summary>The set of block number <paramref name="block"/> (input &gt;&gt; class shift) under <paramref name="salt"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int SetOf(ulong block, ulong salt) => (int)((block ^ salt) & _setMask);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int ProbeClass<TKernel>(ulong input, ushort asid, ulong salt, ulong tagBase, int sizeClass) where TKernel : struct, ITlbKernel =>
        Probe<TKernel>(_tags, _asids, input, asid, salt, tagBase, sizeClass, _setMask, _waysLog2, _groupMask, Ways);

    /// <summary>The tag of (input, class) under a context's tag base: aligned input XOR VMID, with the class.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong TagOf(ulong input, int shift, ulong tagBase, int sizeClass) => (input >> shift << shift ^ tagBase) | (uint)sizeClass;

    /// <summary>
    /// The probe of one size class: the set's ways compared a group at a time. Static and fed from locals
    /// so the batch loops (Tlb.Run) keep the columns and masks in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Probe<TKernel>(ulong* tags, ushort* asids, ulong input, ushort asid, ulong salt, ulong tagBase, int sizeClass,
                                      ulong setMask, int waysLog2, uint groupMask, nint ways)
        where TKernel : struct, ITlbKernel
    {
        int shift = TlbLayout.SizeClassShift(sizeClass);
        ulong tag = TagOf(input, shift, tagBase, sizeClass);
        nint set = (nint)(((input >> shift) ^ salt) & setMask) << waysLog2;
        nint way = 0;
        do
        {
            uint match = TKernel.MatchGroup(tags + set + way, asids + set + way, tag, asid) & groupMask;
            if (match != 0)
                return (int)(set + way) + BitOperations.TrailingZeroCount(match);
            way += TlbLayout.GroupWays;
        }
        while (way < ways);
        return -1;
    }
}
