using System.Diagnostics;
using System.Numerics;
using Smmu.Core.PageTables;

namespace Smmu.Core.Translation;

/// <summary>TLB maintenance: everything, one ASID, one ASID's range, a range for every ASID. Each returns how many valid entries it removed.</summary>
internal sealed unsafe partial class Tlb
{
    /// <summary>Removes every entry (TLBIALL).</summary>
    public int InvalidateAll<TKernel>() where TKernel : struct, ITlbKernel
    {
        _sizeClasses = 0;
        return TKernel.SweepAll(_asids, _sweepLength);
    }

    /// <summary>Removes the entries of <paramref name="asid"/> (a real ASID) in one vector sweep (TLBIASID).</summary>
    public int InvalidateAsid<TKernel>(ushort asid) where TKernel : struct, ITlbKernel
    {
        Debug.Assert(asid != TlbLayout.InvalidAsid);
        return TKernel.SweepAsid(_asids, _sweepLength, asid);
    }

    /// <summary>
    /// Removes the entries of <paramref name="asid"/> (a real ASID) that overlap [first, last], inclusive
    /// byte addresses (TLBIVA over a range). Probes the set of each block while that is cheaper than a
    /// sweep of every way.
    /// </summary>
    public int InvalidateRange<TKernel>(ushort asid, ulong first, ulong last) where TKernel : struct, ITlbKernel
    {
        Debug.Assert(asid != TlbLayout.InvalidAsid);
        int removed = 0;
        for (int sizeClass = 0; sizeClass < Geometry.SizeClassCount; sizeClass++)
        {
            if ((_sizeClasses & (1u << sizeClass)) == 0)
                continue;
            int shift = Geometry.SizeClassShift(sizeClass);
            ulong firstBlock = first >> shift, lastBlock = last >> shift;
            if (lastBlock - firstBlock < (ulong)Sets)
            {
                for (ulong block = firstBlock; block <= lastBlock; block++)
                    removed += InvalidateBlock<TKernel>(asid, block, shift, sizeClass);
            }
            else
            {
                removed += SweepRange<TKernel>(firstBlock << shift | (uint)sizeClass, (lastBlock - firstBlock) << shift, sizeClass,
                                               asid, anyAsid: false);
            }
        }
        return removed;
    }

    /// <summary>
    /// Removes every ASID's entries that overlap [first, last] (TLBIVAA). The set depends on the ASID, so
    /// this sweeps every way.
    /// </summary>
    public int InvalidateRangeAllAsids<TKernel>(ulong first, ulong last) where TKernel : struct, ITlbKernel
    {
        int removed = 0;
        for (int sizeClass = 0; sizeClass < Geometry.SizeClassCount; sizeClass++)
        {
            if ((_sizeClasses & (1u << sizeClass)) == 0)
                continue;
            int shift = Geometry.SizeClassShift(sizeClass);
            ulong firstBlock = first >> shift, lastBlock = last >> shift;
            removed += SweepRange<TKernel>(firstBlock << shift | (uint)sizeClass, (lastBlock - firstBlock) << shift, sizeClass,
                                           TlbLayout.InvalidAsid, anyAsid: true);
        }
        return removed;
    }

    /// <summary>Probes the one set that can hold (block, class) for <paramref name="asid"/> and empties the matching ways.</summary>
    private int InvalidateBlock<TKernel>(ushort asid, ulong block, int shift, int sizeClass) where TKernel : struct, ITlbKernel
    {
        ulong tag = block << shift | (uint)sizeClass;
        nint setBase = (nint)SetOf(block, asid) << _waysLog2;
        int removed = 0;
        for (nint group = 0; group < Ways; group += TlbLayout.GroupWays)
            removed += Empty(_asids + setBase + group, TKernel.MatchGroup(_tags + setBase + group, _asids + setBase + group, tag, asid) & _groupMask);
        return removed;
    }

    /// <summary>Sweeps every way for valid tags of <paramref name="sizeClass"/> in [low, low + span], of <paramref name="asid"/> or of any ASID.</summary>
    private int SweepRange<TKernel>(ulong low, ulong span, int sizeClass, ushort asid, bool anyAsid) where TKernel : struct, ITlbKernel
    {
        int removed = 0;
        for (nint group = 0; group < Entries; group += TlbLayout.GroupWays)
        {
            uint match = TKernel.MatchRangeGroup(_tags + group, low, span, (uint)sizeClass);
            if (match == 0)
                continue;
            ushort* asids = _asids + group;
            match &= anyAsid ? ~TKernel.MatchAsidGroup(asids, TlbLayout.InvalidAsid) : TKernel.MatchAsidGroup(asids, asid);
            removed += Empty(asids, match);
        }
        return removed;
    }

    private static int Empty(ushort* asids, uint ways)
    {
        int removed = BitOperations.PopCount(ways);
        for (; ways != 0; ways &= ways - 1)
            asids[BitOperations.TrailingZeroCount(ways)] = TlbLayout.InvalidAsid;
        return removed;
    }
}
