using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using Smmu.Core.Memory;
using Smmu.Core.PageTables;

namespace Smmu.Core.Translation;

/// <summary>
/// The ASID-tagged, set-associative TLB, struct-of-arrays: per entry a tag, an ASID, an output
/// address and the access rights, each its own 64-byte-aligned column, so a set's tags (and its
/// ASIDs) are contiguous and compared with one vector instruction.
/// <code>
/// tag:    [63:12] page/block IOVA (aligned to its size) | [1:0] size class (0 = 4K, 1 = 2M, 2 = 1G)
/// asid:   the owner's ASID; 0 marks an invalid way (ASID 0 is never handed out)
/// output: page/block output address | rights: AccessRights
/// </code>
/// An entry of size class c for ASID a lives in set ((iova &gt;&gt; shift(c)) XOR salt(a)) mod Sets. The
/// per-ASID salt matters for dynamic domains: GPU processes map their buffers at the same IOVAs, and
/// without it they would all compete for the same sets, so at most Ways processes could stay warm.
/// XOR keeps each ASID's mapping of pages to sets a bijection, so one ASID never puts more than one
/// entry of a page in a set. A lookup probes the classes filled since the last full invalidation,
/// smallest first. Replacement: an invalid way if the set has one, else round-robin per set (the
/// cursor advances only on evictions).
/// </summary>
internal sealed unsafe partial class Tlb : IDisposable
{
    private readonly NativeBuffer<ulong> _tagColumn;
    private readonly NativeBuffer<ushort> _asidColumn;
    private readonly NativeBuffer<ulong> _outputColumn;
    private readonly NativeBuffer<byte> _rightsColumn;
    private readonly ulong* _tags;
    private readonly ushort* _asids;
    private readonly ulong* _outputs;
    private readonly byte* _rights;
    private readonly ushort[] _nextVictim;
    private readonly int _waysLog2;
    private readonly ulong _setMask;
    private readonly uint _groupMask;     // ways of a group that belong to the set (all 8 unless Ways < 8)
    private readonly nint _sweepLength;   // entries rounded up to the widest sweep
    private uint _sizeClasses;            // bit c: class c was filled since the last InvalidateAll

    public Tlb(int entries, int ways, SimdWidth width)
    {
        Debug.Assert(BitOperations.IsPow2(entries) && BitOperations.IsPow2(ways) && ways <= entries);
        Entries = entries;
        Ways = ways;
        Sets = entries / ways;
        _waysLog2 = BitOperations.Log2((uint)ways);
        _setMask = (ulong)Sets - 1;
        _groupMask = ways >= TlbKernel.GroupWays ? 0xFFu : (1u << ways) - 1;
        _sweepLength = (entries + TlbKernel.SweepLanes - 1) & ~(TlbKernel.SweepLanes - 1);
        nuint padded = (nuint)(_sweepLength + TlbKernel.GroupWays);
        _tagColumn = new NativeBuffer<ulong>(padded);
        _asidColumn = new NativeBuffer<ushort>(padded);
        _outputColumn = new NativeBuffer<ulong>(padded);
        _rightsColumn = new NativeBuffer<byte>(padded);
        _tags = _tagColumn.Pointer;
        _asids = _asidColumn.Pointer;
        _outputs = _outputColumn.Pointer;
        _rights = _rightsColumn.Pointer;
        _nextVictim = new ushort[Sets];
        Width = width;
    }

    public int Entries { get; }
    public int Ways { get; }
    public int Sets { get; }

    /// <summary>The kernel width lookups, fills and sweeps use.</summary>
    public SimdWidth Width { get; private set; }

    /// <summary>
    /// Looks up (iova, asid). Returns the entry index, or -1 on a miss.
    /// </summary>
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

    /// <summary>The output address for <paramref name="iova"/> through <paramref name="entry"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong OutputOf(int entry, ulong iova)
    {
        int sizeClass = (int)(_tags[entry] & TlbKernel.SizeClassMask);
        ulong offsetMask = (1UL << Geometry.SizeClassShift(sizeClass)) - 1;
        return _outputs[entry] | (iova & offsetMask);
    }

    /// <summary>The rights cached in <paramref name="entry"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public AccessRights RightsOf(int entry) => (AccessRights)_rights[entry];

    /// <summary>The size class of <paramref name="entry"/>.</summary>
    public int SizeClassOf(int entry) => (int)(_tags[entry] & TlbKernel.SizeClassMask);

    /// <summary>Caches a walk's leaf for (iova, asid) and returns the entry it took.</summary>
    public int Fill(ulong iova, ushort asid, in WalkLeaf leaf) => Width switch
    {
        SimdWidth.Vector512 => Fill<Vector512Kernel>(iova, asid, leaf),
        SimdWidth.Vector256 => Fill<Vector256Kernel>(iova, asid, leaf),
        SimdWidth.Vector128 => Fill<Vector128Kernel>(iova, asid, leaf),
        _ => Fill<ScalarKernel>(iova, asid, leaf),
    };

    /// <summary>Removes every entry; returns how many were valid.</summary>
    public int InvalidateAll()
    {
        _sizeClasses = 0;
        return Width switch
        {
            SimdWidth.Vector512 => Vector512Kernel.SweepAll(_asids, _sweepLength),
            SimdWidth.Vector256 => Vector256Kernel.SweepAll(_asids, _sweepLength),
            SimdWidth.Vector128 => Vector128Kernel.SweepAll(_asids, _sweepLength),
            _ => ScalarKernel.SweepAll(_asids, _sweepLength),
        };
    }

    /// <summary>Removes the entries of <paramref name="asid"/> (non-zero) in one sweep; returns how many.</summary>
    public int InvalidateAsid(ushort asid)
    {
        Debug.Assert(asid != 0);
        return Width switch
        {
            SimdWidth.Vector512 => Vector512Kernel.SweepAsid(_asids, _sweepLength, asid),
            SimdWidth.Vector256 => Vector256Kernel.SweepAsid(_asids, _sweepLength, asid),
            SimdWidth.Vector128 => Vector128Kernel.SweepAsid(_asids, _sweepLength, asid),
            _ => ScalarKernel.SweepAsid(_asids, _sweepLength, asid),
        };
    }

    /// <summary>
    /// Removes the entries of <paramref name="asid"/> that overlap [first, last] (inclusive byte
    /// addresses); <paramref name="asid"/> 0 means every ASID. Returns how many.
    /// </summary>
    public int InvalidateRange(ushort asid, ulong first, ulong last) => Width switch
    {
        SimdWidth.Vector512 => InvalidateRange<Vector512Kernel>(asid, first, last),
        SimdWidth.Vector256 => InvalidateRange<Vector256Kernel>(asid, first, last),
        SimdWidth.Vector128 => InvalidateRange<Vector128Kernel>(asid, first, last),
        _ => InvalidateRange<ScalarKernel>(asid, first, last),
    };

    public void Dispose()
    {
        _tagColumn.Dispose();
        _asidColumn.Dispose();
        _outputColumn.Dispose();
        _rightsColumn.Dispose();
    }

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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Fill<TKernel>(ulong iova, ushort asid, in WalkLeaf leaf) where TKernel : struct, ITlbKernel
    {
        int sizeClass = Geometry.SizeClassOfLevel(leaf.Level);
        int shift = Geometry.SizeClassShift(sizeClass);
        int set = SetOf(iova >> shift, asid);
        nint setBase = (nint)set << _waysLog2;
        int way = -1;
        for (nint group = 0; group < Ways && way < 0; group += TlbKernel.GroupWays)
        {
            uint invalid = TKernel.MatchAsidGroup(_asids + setBase + group, 0) & _groupMask;
            if (invalid != 0)
                way = (int)group + BitOperations.TrailingZeroCount(invalid);
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

    private int InvalidateRange<TKernel>(ushort asid, ulong first, ulong last) where TKernel : struct, ITlbKernel
    {
        int removed = 0;
        for (int sizeClass = 0; sizeClass < Geometry.SizeClassCount; sizeClass++)
        {
            if ((_sizeClasses & (1u << sizeClass)) == 0)
                continue;
            int shift = Geometry.SizeClassShift(sizeClass);
            ulong firstBlock = first >> shift, lastBlock = last >> shift;
            // One ASID: probe the set of each block while that is cheaper than a sweep. Every ASID: the
            // set depends on the ASID, so sweep.
            if (asid != 0 && lastBlock - firstBlock < (ulong)Sets)
            {
                for (ulong block = firstBlock; block <= lastBlock; block++)
                    removed += InvalidateBlock<TKernel>(asid, block, shift, sizeClass);
            }
            else
            {
                removed += SweepRange<TKernel>(asid, firstBlock << shift | (uint)sizeClass, (lastBlock - firstBlock) << shift, sizeClass);
            }
        }
        return removed;
    }

    /// <summary>Probes the one set that can hold (block, class) for <paramref name="asid"/> and drops the matching ways.</summary>
    private int InvalidateBlock<TKernel>(ushort asid, ulong block, int shift, int sizeClass) where TKernel : struct, ITlbKernel
    {
        ulong tag = block << shift | (uint)sizeClass;
        nint setBase = (nint)SetOf(block, asid) << _waysLog2;
        int removed = 0;
        for (nint group = 0; group < Ways; group += TlbKernel.GroupWays)
            removed += Drop(_asids + setBase + group, TKernel.MatchGroup(_tags + setBase + group, _asids + setBase + group, tag, asid) & _groupMask);
        return removed;
    }

    /// <summary>The set of block number <paramref name="block"/> (IOVA &gt;&gt; class shift) for <paramref name="asid"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int SetOf(ulong block, ushort asid) => (int)((block ^ SetSalt(asid)) & _setMask);

    /// <summary>Sweeps every way for tags of <paramref name="sizeClass"/> in [low, low + span].</summary>
    private int SweepRange<TKernel>(ushort asid, ulong low, ulong span, int sizeClass) where TKernel : struct, ITlbKernel
    {
        int removed = 0;
        for (nint group = 0; group < Entries; group += TlbKernel.GroupWays)
        {
            uint match = TKernel.MatchRangeGroup(_tags + group, low, span, (uint)sizeClass);
            if (match == 0)
                continue;
            ushort* asids = _asids + group;
            match &= asid != 0 ? TKernel.MatchAsidGroup(asids, asid) : ~TKernel.MatchAsidGroup(asids, 0);
            removed += Drop(asids, match);
        }
        return removed;
    }

    private static int Drop(ushort* asids, uint ways)
    {
        int removed = BitOperations.PopCount(ways);
        for (; ways != 0; ways &= ways - 1)
            asids[BitOperations.TrailingZeroCount(ways)] = 0;
        return removed;
    }
}
