using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Smmu.Core.PageTables;

namespace Smmu.Core.Translation;

/// <summary>Caching a walk's leaf: pick a way (an empty one, else round-robin), write its columns.</summary>
internal sealed unsafe partial class Tlb
{
    /// <summary>
    /// Caches a walk's leaf for <paramref name="input"/> under <paramref name="context"/> and returns the
    /// entry it took. A global leaf, or any leaf of a context without an ASID, is cached without one
    /// (unsalted, matching every ASID of its VMID).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Fill<TKernel>(ulong input, in TlbContext context, in WalkLeaf leaf) where TKernel : struct, ITlbKernel =>
        Fill<TKernel>(input, context, leaf.OutputBase, leaf.Level, leaf.Shift, leaf.Rights, leaf.Global);

    /// <summary>
    /// <see cref="Fill{TKernel}(ulong, in TlbContext, in WalkLeaf)"/> with the leaf's fields one by one: a loop that
    /// fills keeps them in registers (a leaf record passed by reference must live in memory).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Fill<TKernel>(ulong input, in TlbContext context, ulong outputBase, int level, int shift, AccessRights rights, bool global)
        where TKernel : struct, ITlbKernel
    {
        int sizeClass = TlbLayout.SizeClassOf(shift);
        bool noAsid = global || context.Asid == TlbLayout.NoAsid;
        ushort asid = noAsid ? TlbLayout.NoAsid : context.Asid;
        int set = SetOf(input >> shift, noAsid ? 0 : context.Salt);
        nint setBase = (nint)set << _waysLog2;
        int way = -1;
        if (Ways == TlbLayout.GroupWays)
        {
            uint empty = TKernel.MatchAsidGroup(_asids + setBase, TlbLayout.InvalidAsid);   // the default geometry: one group, one compare
            if (empty != 0)
                way = BitOperations.TrailingZeroCount(empty);
        }
        else
        {
            for (nint group = 0; group < Ways && way < 0; group += TlbLayout.GroupWays)
            {
                uint empty = TKernel.MatchAsidGroup(_asids + setBase + group, TlbLayout.InvalidAsid) & _groupMask;
                if (empty != 0)
                    way = (int)group + BitOperations.TrailingZeroCount(empty);
            }
        }
        if (way < 0)
        {
            // set is masked by _setMask: always inside the Sets-long array.
            ref ushort victim = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_nextVictim), set);
            way = victim;
            victim = (ushort)((way + 1) & (Ways - 1));
        }
        nint entry = setBase + way;
        ForgetWatch(entry);
        _tags[entry] = TagOf(input, shift, context.TagBase, sizeClass);
        _asids[entry] = asid;
        _outputs[entry] = outputBase;
        _info[entry] = (byte)((uint)rights | (uint)level << TlbLayout.LevelShift);
        // Store only when a bit changes: the next lookup loads these words, and an unconditional store of
        // a value that depends on this walk would make it wait for the walk, so consecutive misses could
        // not overlap their memory accesses.
        uint bit = 1u << sizeClass;
        if ((_sizeClasses & bit) == 0 || (noAsid && (_noAsidClasses & bit) == 0))
            AddClass(bit, noAsid);
        return (int)entry;
    }

    /// <summary>
    /// <see cref="Fill{TKernel}(ulong, in TlbContext, ulong, int, int, AccessRights, bool)"/> of a 4 KiB page with an ASID
    /// when the TLB holds pages only, in the default geometry (<see cref="HoldsPagesOnlyOneGroup"/>): the same way (an empty
    /// one, else the set's round-robin victim) and the same entry, with the page's shift and class as constants and no class
    /// to add. <paramref name="tagXor"/> is the context's tag base with the page's class.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void FillPageOneGroup<TKernel>(ulong input, ushort asid, ulong salt, ulong tagXor, ulong outputBase, AccessRights rights)
        where TKernel : struct, ITlbKernel
    {
        Debug.Assert(Ways == TlbLayout.GroupWays && TlbLayout.SizeClassShift(TlbLayout.PageClass4K) == Geometry.Granule4K);
        const int WaysLog2 = 3;   // TlbLayout.GroupWays
        nint set = (nint)(((input >> Geometry.Granule4K) ^ salt) & _setMask);
        nint setBase = set << WaysLog2;
        uint empty = TKernel.MatchAsidGroup(_asids + setBase, TlbLayout.InvalidAsid);
        int way;
        if (empty != 0)
        {
            way = BitOperations.TrailingZeroCount(empty);
        }
        else
        {
            // set is masked by _setMask: always inside the Sets-long array.
            ref ushort victim = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_nextVictim), set);
            way = victim;
            victim = (ushort)((way + 1) & (TlbLayout.GroupWays - 1));
        }
        nint entry = setBase + way;
        ForgetWatch(entry);
        _tags[entry] = (input & ~Geometry.FrameOffsetMask) ^ tagXor;
        _asids[entry] = asid;
        _outputs[entry] = outputBase;
        _info[entry] = (byte)((uint)rights | (uint)Geometry.LastLevel << TlbLayout.LevelShift);
    }

    /// <summary>
    /// The page-only fill's walk end, for the batch's page-only loop and the single miss alike: if <paramref name="pte"/>
    /// (read at level 3) is a page the TLB may cache (<see cref="Walker.IsUsableLeaf4K"/>), grants <paramref name="need"/> and
    /// is not global, caches it (<see cref="FillPageOneGroup"/>) and gives the output address; otherwise false, with nothing
    /// changed, and the caller hands the walk to the general fill or the slow path.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryFillPageOneGroup<TKernel>(ulong input, ulong pte, AccessRights need, in WalkContext walk, ushort asid, ulong salt,
                                              ulong tagXor, out ulong output)
        where TKernel : struct, ITlbKernel
    {
        AccessRights rights = Pte.Rights(pte);
        output = 0;
        if (!Walker.IsUsableLeaf4K(walk, pte, Geometry.LastLevel) || (need & ~rights) != 0 || Pte.IsGlobal(pte))
            return false;   // not a page, a fault, a denial, or a global page (an entry without an ASID)
        ulong outputBase = Pte.OutputAddress(pte, Geometry.Granule4K);
        FillPageOneGroup<TKernel>(input, asid, salt, tagXor, outputBase, rights);
        output = outputBase | (input & Geometry.FrameOffsetMask);
        return true;
    }

    /// <summary>
    /// A single translation's miss on a stage-1 bank with the 4 KiB granule: walk (<see cref="Walker.DescendStage1Granule4K"/>)
    /// and fill (<see cref="TryFillLeaf4K"/>), with none of the general walk's fault bookkeeping; the output address and the
    /// descriptors read. False when the walk faults or its leaf denies <paramref name="need"/>: the caller's slow path
    /// walks again, counts and raises it.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public bool TryWalkAndFillStage1Granule4K<TKernel>(ulong input, in TlbContext context, AccessRights need, in WalkContext walk,
                                                       out ulong output, out int reads)
        where TKernel : struct, ITlbKernel
    {
        reads = 0;
        output = 0;
        if (!Walker.DescendStage1Granule4K(walk, input, out ulong offset, out int level))
            return false;
        int descriptorReads = level - walk.Stage1.StartLevel + 1;
        // The usual page miss takes the page-only loop's fill; anything else, or that fill declining, the general one.
        if (level == Geometry.LastLevel && HoldsPagesOnlyOneGroup(context)
            && TryFillPageOneGroup<TKernel>(input, walk.Pool.WordAtOffset(offset), need, walk, context.Asid, context.Salt,
                                            context.TagBase | TlbLayout.PageClass4K, out ulong pageOutput))
        {
            output = pageOutput;
            reads = descriptorReads;
            return true;
        }
        if (!TryFillLeaf4K<TKernel>(input, context, need, walk, offset, level, out output, out _))
            return false;
        reads = descriptorReads;
        return true;
    }

    /// <summary>
    /// The second half of a stage-1 4 KiB-granule walk, and the fill: reads the descriptor
    /// <see cref="Walker.DescendStage1Granule4K"/> ended at (pool <paramref name="offset"/>, <paramref name="level"/>) and,
    /// if it is a leaf the TLB may cache (<see cref="Walker.IsUsableLeaf4K"/>) that grants <paramref name="need"/>, caches it;
    /// <paramref name="output"/> is then the output address for <paramref name="input"/>, <paramref name="shift"/> the leaf's
    /// size. The leaf's fields reach the fill as values, not as a <see cref="WalkLeaf"/> by reference, which would keep
    /// them in memory: the miss loop is bound by its instruction count.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryFillLeaf4K<TKernel>(ulong input, in TlbContext context, AccessRights need, in WalkContext walk, ulong offset, int level,
                                        out ulong output, out int shift)
        where TKernel : struct, ITlbKernel
    {
        ulong pte = walk.Pool.WordAtOffset(offset);
        AccessRights rights = Pte.Rights(pte);
        shift = Walker.LeafShift4K(level);
        output = 0;
        if (!Walker.IsUsableLeaf4K(walk, pte, level) || (need & ~rights) != 0)
            return false;
        ulong outputBase = Pte.OutputAddress(pte, shift);
        Fill<TKernel>(input, context, outputBase, level, shift, rights, Pte.IsGlobal(pte));
        output = outputBase | (input & ((1UL << shift) - 1));
        return true;
    }

    /// <summary>The first entry of a size class (or of one without an ASID in it) since the last full invalidation.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void AddClass(uint bit, bool noAsid)
    {
        _sizeClasses |= bit;
        if (noAsid)
            _noAsidClasses |= bit;
        PublishClasses();
    }
}
