using System.Numerics;
using System.Runtime.CompilerServices;
using Smmu.Core.PageTables;

namespace Smmu.Core.Translation;

/// <summary>Caching a walk's leaf: pick a way (an empty one, else round-robin), write its columns.</summary>
internal sealed unsafe partial class Tlb
{
    /// <summary>Caches a walk's leaf for (iova, asid) and returns the entry it took.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Fill<TKernel>(ulong iova, ushort asid, in WalkLeaf leaf) where TKernel : struct, ITlbKernel
    {
        int sizeClass = Geometry.SizeClassOfLevel(leaf.Level);
        int shift = Geometry.SizeClassShift(sizeClass);
        int set = SetOf(iova >> shift, asid);
        nint setBase = (nint)set << _waysLog2;
        int way = -1;
        for (nint group = 0; group < Ways && way < 0; group += TlbLayout.GroupWays)
        {
            uint empty = TKernel.MatchAsidGroup(_asids + setBase + group, TlbLayout.InvalidAsid) & _groupMask;
            if (empty != 0)
                way = (int)group + BitOperations.TrailingZeroCount(empty);
        }
        if (way < 0)
        {
            way = _nextVictim[set];
            _nextVictim[set] = (ushort)((way + 1) & (Ways - 1));
        }
        nint entry = setBase + way;
        _tags[entry] = (iova >> shift << shift) | (uint)sizeClass;
        _asids[entry] = asid;
        _outputs[entry] = leaf.OutputBase;
        _rights[entry] = (byte)leaf.Rights;
        // Store only when the bit changes: the next lookup loads _sizeClasses, and an unconditional store
        // of a value that depends on this walk would make it wait for the walk, so consecutive misses
        // could not overlap their memory accesses.
        if ((_sizeClasses & (1u << sizeClass)) == 0)
            _sizeClasses |= 1u << sizeClass;
        return (int)entry;
    }
}
