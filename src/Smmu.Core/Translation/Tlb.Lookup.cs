using System.Numerics;
using System.Runtime.CompilerServices;
using Smmu.Core.PageTables;

namespace Smmu.Core.Translation;

/// <summary>Finding an entry: the set a (page, ASID) lives in, and the vector compare of its ways.</summary>
internal sealed unsafe partial class Tlb
{
    /// <summary>Looks up (iova, asid): the entry index, or -1 on a miss. Probes the size classes present, smallest first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Lookup<TKernel>(ulong iova, ushort asid) where TKernel : struct, ITlbKernel
    {
        uint classes = _sizeClasses;
        ulong salt = SetSalt(asid);
        int entry = -1;
        if ((classes & 1) != 0)
            entry = ProbeClass<TKernel>(iova, asid, salt, 0);
        if (entry < 0 && classes > 1)
            entry = ProbeLargeClasses<TKernel>(iova, asid, salt, classes);
        return entry;
    }

    /// <summary>The set-index salt of an ASID: a multiplicative (golden-ratio) hash, so nearby ASIDs spread out.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong SetSalt(ushort asid) => (uint)asid * 0x9E3779B1u >> 16;

    /// <summary>The set of block number <paramref name="block"/> (IOVA &gt;&gt; class shift) for <paramref name="asid"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int SetOf(ulong block, ushort asid) => (int)((block ^ SetSalt(asid)) & _setMask);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private int ProbeLargeClasses<TKernel>(ulong iova, ushort asid, ulong salt, uint classes) where TKernel : struct, ITlbKernel
    {
        int entry = -1;
        if ((classes & 2) != 0)
            entry = ProbeClass<TKernel>(iova, asid, salt, 1);
        if (entry < 0 && (classes & 4) != 0)
            entry = ProbeClass<TKernel>(iova, asid, salt, 2);
        return entry;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int ProbeClass<TKernel>(ulong iova, ushort asid, ulong salt, int sizeClass) where TKernel : struct, ITlbKernel =>
        Probe<TKernel>(_tags, _asids, iova, asid, salt, sizeClass, _setMask, _waysLog2, _groupMask, Ways);

    /// <summary>
    /// The probe of one size class: the set's ways compared a group at a time. Static and fed from locals
    /// so the batch loops (Tlb.Run) keep the columns and masks in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Probe<TKernel>(ulong* tags, ushort* asids, ulong iova, ushort asid, ulong salt, int sizeClass,
                                      ulong setMask, int waysLog2, uint groupMask, nint ways)
        where TKernel : struct, ITlbKernel
    {
        int shift = Geometry.SizeClassShift(sizeClass);
        ulong tag = (iova >> shift << shift) | (uint)sizeClass;
        nint set = (nint)(((iova >> shift) ^ salt) & setMask) << waysLog2;
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
