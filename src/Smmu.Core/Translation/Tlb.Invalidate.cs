using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Smmu.Core.Translation;

/// <summary>
/// TLB maintenance, with the architecture's rules for entries without an ASID (ARM ARM, "TLB maintenance
/// instructions": a by-ASID operation invalidates only non-global entries of that ASID; by-VA operations
/// also invalidate global entries for the VA; by-VA-all-ASIDs and all invalidate everything that matches).
/// Each returns how many valid entries it removed. The range, VMID and IPA operations are generic over
/// what they do to the ways they match (<see cref="ITlbWayAction"/>): empty them, or mark them for the
/// stale-TLB sanitizer when the invalidation is deferred.
/// </summary>
internal sealed unsafe partial class Tlb
{
    /// <summary>Removes every entry (TLBIALL).</summary>
    public int InvalidateAll<TKernel>() where TKernel : struct, ITlbKernel
    {
        _sizeClasses = 0;
        _noAsidClasses = 0;
        PublishClasses();
        return TKernel.SweepAll(_asids, _sweepLength);
    }

    /// <summary>Removes the non-global entries of <paramref name="asid"/> (a real ASID) in one vector sweep (TLBIASID); global entries stay.</summary>
    public int InvalidateAsid<TKernel>(ushort asid) where TKernel : struct, ITlbKernel
    {
        Debug.Assert(asid is not (TlbLayout.InvalidAsid or TlbLayout.NoAsid));
        return TKernel.SweepAsid(_asids, _sweepLength, asid);
    }

    /// <summary>
    /// TLBIVA over [first, last] (inclusive input addresses of one half): the stage-1 entries of
    /// <paramref name="asid"/> that overlap the range, and the global ones that do (<paramref name="asid"/>
    /// <see cref="TlbLayout.NoAsid"/>: only the global ones). Within the VMID of <paramref name="tagBase"/>, or
    /// in every VMID when <paramref name="anyVmid"/>. Probes the sets of each block while that is cheaper
    /// than a sweep of every way.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]   // the fast path below folds into the caller; the loop stays out of line
    public int InvalidateVa<TKernel, TAction>(ushort asid, ulong first, ulong last, ulong tagBase, bool anyVmid)
        where TKernel : struct, ITlbKernel where TAction : struct, ITlbWayAction
    {
        Debug.Assert(asid != TlbLayout.InvalidAsid);
        ulong mask = anyVmid ? TlbLayout.AnyVmidMask : ulong.MaxValue;
        bool ownAsid = asid != TlbLayout.NoAsid;
        uint classes = _sizeClasses;
        if (ownAsid && _noAsidClasses == 0 && BitOperations.IsPow2(classes))
        {
            // The usual unmap: one size class cached, no entry without an ASID, and the range inside one of the
            // class's blocks (a page): one set to match, as the loop below would find it.
            int onlyClass = BitOperations.TrailingZeroCount(classes);
            int onlyShift = TlbLayout.SizeClassShift(onlyClass);
            ulong block = first >> onlyShift;
            if (block == last >> onlyShift)
                return ActOnMatching<TKernel, TAction>(SetOf(block, TlbContext.SetSalt(asid)), TagOf(block << onlyShift, onlyShift, tagBase, onlyClass) & mask,
                                                       onlyClass, mask, asid);
        }
        return InvalidateVaByClass<TKernel, TAction>(asid, first, last, tagBase, mask, ownAsid);
    }

    /// <summary><see cref="InvalidateVa"/> in general: each size class cached, each block's sets or a sweep.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int InvalidateVaByClass<TKernel, TAction>(ushort asid, ulong first, ulong last, ulong tagBase, ulong mask, bool ownAsid)
        where TKernel : struct, ITlbKernel where TAction : struct, ITlbWayAction
    {
        int removed = 0;
        for (uint left = _sizeClasses; left != 0; left &= left - 1)   // only the classes cached since the last full invalidation
        {
            int sizeClass = BitOperations.TrailingZeroCount(left);
            uint bit = 1u << sizeClass;
            int shift = TlbLayout.SizeClassShift(sizeClass);
            ulong firstBlock = first >> shift, lastBlock = last >> shift;
            bool globals = (_noAsidClasses & bit) != 0;
            if (!ownAsid && !globals)
                continue;
            if (lastBlock - firstBlock < (ulong)Sets)
            {
                for (ulong block = firstBlock; block <= lastBlock; block++)
                {
                    ulong tag = TagOf(block << shift, shift, tagBase, sizeClass) & mask;
                    if (ownAsid)
                        removed += ActOnMatching<TKernel, TAction>(SetOf(block, TlbContext.SetSalt(asid)), tag, sizeClass, mask, asid);
                    if (globals)
                        removed += ActOnMatching<TKernel, TAction>(SetOf(block, 0), tag, sizeClass, mask, TlbLayout.NoAsid);
                }
            }
            else
            {
                removed += SweepRange<TKernel, TAction>(first, last, shift, sizeClass, tagBase, mask, ownAsid ? asid : TlbLayout.NoAsid,
                                               globals ? TlbLayout.NoAsid : asid);
            }
        }
        return removed;
    }

    /// <summary>
    /// TLBIVAA over [first, last]: every stage-1 entry, of any ASID or global, that overlaps the range,
    /// within a VMID or in every VMID. The set depends on the ASID, so this sweeps every way.
    /// </summary>
    public int InvalidateVaAllAsids<TKernel, TAction>(ulong first, ulong last, ulong tagBase, bool anyVmid)
        where TKernel : struct, ITlbKernel where TAction : struct, ITlbWayAction
    {
        int removed = 0;
        ulong mask = anyVmid ? TlbLayout.AnyVmidMask : ulong.MaxValue;
        for (int sizeClass = 0; sizeClass < TlbLayout.SizeClassCount; sizeClass++)
        {
            if ((_sizeClasses & (1u << sizeClass)) != 0)
                removed += SweepRange<TKernel, TAction>(first, last, TlbLayout.SizeClassShift(sizeClass), sizeClass, tagBase, mask,
                                               TlbLayout.InvalidAsid, TlbLayout.InvalidAsid);
        }
        return removed;
    }

    /// <summary>
    /// TLBIVMALL: every valid entry whose tag carries <paramref name="vmid"/> — with <paramref name="stage1Only"/>,
    /// only those translating an IOVA (stage-1 and combined entries; TLBIVMALLS1 in SMMU terms), not the
    /// stage-2-only ones. A sweep of every way.
    /// </summary>
    public int InvalidateVmid<TKernel, TAction>(ushort vmid, bool stage1Only) where TKernel : struct, ITlbKernel where TAction : struct, ITlbWayAction
    {
        int removed = 0;
        for (nint group = 0; group < Entries; group += TlbLayout.GroupWays)
        {
            uint match = TKernel.MatchVmidGroup(_tags + group, vmid);
            if (match == 0)
                continue;
            ushort* asids = _asids + group;
            match &= ~TKernel.MatchAsidGroup(asids, TlbLayout.InvalidAsid);
            if (stage1Only)
                match &= ~Stage2InputWays(group);
            removed += TAction.Apply(this, group, match);
        }
        return removed;
    }

    /// <summary>
    /// TLBIIPAS2 over [first, last]: the stage-2-only entries (no ASID, unsalted) of the VMID in
    /// <paramref name="tagBase"/> whose IPA range overlaps it. Probes each block's set while cheaper than a sweep.
    /// </summary>
    public int InvalidateIpa<TKernel, TAction>(ulong first, ulong last, ulong tagBase) where TKernel : struct, ITlbKernel where TAction : struct, ITlbWayAction
    {
        int removed = 0;
        for (int sizeClass = 0; sizeClass < TlbLayout.SizeClassCount; sizeClass++)
        {
            if ((_noAsidClasses & (1u << sizeClass)) == 0)
                continue;
            int shift = TlbLayout.SizeClassShift(sizeClass);
            ulong firstBlock = first >> shift, lastBlock = last >> shift;
            ulong kind = TlbLayout.Stage2InputFlag | (uint)sizeClass;
            if (lastBlock - firstBlock < (ulong)Sets)
            {
                for (ulong block = firstBlock; block <= lastBlock; block++)
                    removed += ActOnMatching<TKernel, TAction>(SetOf(block, 0), TagOf(block << shift, shift, tagBase, sizeClass), (int)kind, ulong.MaxValue,
                                                      TlbLayout.NoAsid);
            }
            else
            {
                ulong low = TagOf(firstBlock << shift, shift, tagBase, sizeClass);
                ulong span = (lastBlock - firstBlock) << shift;
                for (nint group = 0; group < Entries; group += TlbLayout.GroupWays)
                {
                    uint match = TKernel.MatchRangeGroup(_tags + group, low, span, kind, ulong.MaxValue);
                    if (match != 0)
                        removed += TAction.Apply(this, group, match & TKernel.MatchAsidGroup(_asids + group, TlbLayout.NoAsid));
                }
            }
        }
        return removed;
    }

    /// <summary>The ways of a group whose entry translates an IPA (tag bit 4).</summary>
    private uint Stage2InputWays(nint group)
    {
        uint ways = 0;
        for (int w = 0; w < TlbLayout.GroupWays; w++)
            ways |= ((_tags[group + w] & TlbLayout.Stage2InputFlag) != 0 ? 1u : 0u) << w;
        return ways;
    }

    /// <summary>Acts on the ways of one set whose masked tag is <paramref name="tag"/>, of kind <paramref name="kind"/>, with ASID <paramref name="asid"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int ActOnMatching<TKernel, TAction>(int set, ulong tag, int kind, ulong mask, ushort asid)
        where TKernel : struct, ITlbKernel where TAction : struct, ITlbWayAction
    {
        nint setBase = (nint)set << _waysLog2;
        if (Ways == TlbLayout.GroupWays)   // the default geometry: the set is one group
        {
            // Within one VMID the block's tag, kind bits included, is the whole match: one exact compare.
            uint ways = mask == ulong.MaxValue && (tag & TlbLayout.KindMask) == (uint)kind
                ? TKernel.MatchGroup(_tags + setBase, _asids + setBase, tag, asid)
                : TKernel.MatchRangeGroup(_tags + setBase, tag, 0, (uint)kind, mask) & TKernel.MatchAsidGroup(_asids + setBase, asid);
            return TAction.Apply(this, setBase, ways);
        }
        int removed = 0;
        for (nint group = 0; group < Ways; group += TlbLayout.GroupWays)
        {
            uint match = TKernel.MatchRangeGroup(_tags + setBase + group, tag, 0, (uint)kind, mask)
                         & TKernel.MatchAsidGroup(_asids + setBase + group, asid) & _groupMask;
            removed += TAction.Apply(this, setBase + group, match);
        }
        return removed;
    }

    /// <summary>
    /// Sweeps every way for valid entries of <paramref name="sizeClass"/> (stage-1 kind) whose masked tag
    /// lies in the range's blocks, with ASID <paramref name="asid"/> or <paramref name="otherAsid"/> —
    /// or any ASID when <paramref name="asid"/> is <see cref="TlbLayout.InvalidAsid"/>.
    /// </summary>
    private int SweepRange<TKernel, TAction>(ulong first, ulong last, int shift, int sizeClass, ulong tagBase, ulong mask, ushort asid, ushort otherAsid)
        where TKernel : struct, ITlbKernel where TAction : struct, ITlbWayAction
    {
        ulong firstBlock = first >> shift, lastBlock = last >> shift;
        ulong low = TagOf(firstBlock << shift, shift, tagBase, sizeClass) & mask;
        ulong span = (lastBlock - firstBlock) << shift;
        int removed = 0;
        for (nint group = 0; group < Entries; group += TlbLayout.GroupWays)
        {
            uint match = TKernel.MatchRangeGroup(_tags + group, low, span, (uint)sizeClass, mask);
            if (match == 0)
                continue;
            ushort* asids = _asids + group;
            match &= asid == TlbLayout.InvalidAsid
                ? ~TKernel.MatchAsidGroup(asids, TlbLayout.InvalidAsid)
                : TKernel.MatchAsidGroup(asids, asid) | TKernel.MatchAsidGroup(asids, otherAsid);
            removed += TAction.Apply(this, group, match);
        }
        return removed;
    }

    /// <summary>Empties one way (see <see cref="EmptyWays"/>).</summary>
    internal void EmptyWay(nint entry) => _asids[entry] = TlbLayout.InvalidAsid;
}
