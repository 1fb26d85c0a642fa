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
/// asid:   the owner's ASID; TlbLayout.InvalidAsid (0) marks an empty way (ASID 0 is never handed out)
/// output: page/block output address | rights: AccessRights
/// </code>
/// An entry of size class c for ASID a lives in set ((iova &gt;&gt; shift(c)) XOR salt(a)) mod Sets. The
/// per-ASID salt matters for dynamic domains: GPU processes map their buffers at the same IOVAs, and
/// without it they would all compete for the same sets, so at most Ways processes could stay warm.
/// XOR keeps each ASID's mapping of pages to sets a bijection, so one ASID never puts more than one
/// entry of a page in a set. A lookup probes the classes filled since the last full invalidation,
/// smallest first. Replacement: an empty way if the set has one, else round-robin per set (the
/// cursor advances only on evictions).
/// <para>The TLB has no vector width of its own: every operation is a generic method over the kernel,
/// and <see cref="KernelTranslator{TKernel}"/> — chosen once per instance — supplies it. Partial files:
/// Tlb.Lookup (probe), Tlb.Fill, Tlb.Invalidate, Tlb.Run (the batch hot loop), Tlb.TestHooks.</para>
/// </summary>
internal sealed unsafe partial class Tlb : IDisposable
{
    private readonly NativeBuffer<ulong> _tagColumn;
    private readonly NativeBuffer<ushort> _asidColumn;
    private readonly NativeBuffer<ulong> _outputColumn;
    private readonly NativeBuffer<byte> _rightsColumn;
    // The columns' first elements, one load closer to the hot loops; null once disposed.
    private ulong* _tags;
    private ushort* _asids;
    private ulong* _outputs;
    private byte* _rights;
    private readonly ushort[] _nextVictim;
    private readonly int _waysLog2;
    private readonly ulong _setMask;
    private readonly uint _groupMask;     // ways of a group that belong to the set (all 8 unless Ways < 8)
    private readonly nint _sweepLength;   // entries rounded up to the widest sweep
    private uint _sizeClasses;            // bit c: class c was filled since the last InvalidateAll

    public Tlb(int entries, int ways)
    {
        Debug.Assert(BitOperations.IsPow2(entries) && BitOperations.IsPow2(ways) && ways <= entries);
        Entries = entries;
        Ways = ways;
        Sets = entries / ways;
        _waysLog2 = BitOperations.Log2((uint)ways);
        _setMask = (ulong)Sets - 1;
        _groupMask = ways >= TlbLayout.GroupWays ? 0xFFu : (1u << ways) - 1;
        _sweepLength = (entries + TlbLayout.SweepLanes - 1) & ~(TlbLayout.SweepLanes - 1);
        nuint padded = (nuint)(_sweepLength + TlbLayout.GroupWays);
        _tagColumn = new NativeBuffer<ulong>(padded);
        _asidColumn = new NativeBuffer<ushort>(padded);
        _outputColumn = new NativeBuffer<ulong>(padded);
        _rightsColumn = new NativeBuffer<byte>(padded);
        _tags = _tagColumn.Pointer;
        _asids = _asidColumn.Pointer;
        _outputs = _outputColumn.Pointer;
        _rights = _rightsColumn.Pointer;
        _nextVictim = new ushort[Sets];
    }

    public int Entries { get; }
    public int Ways { get; }
    public int Sets { get; }

    /// <summary>The output address for <paramref name="iova"/> through <paramref name="entry"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong OutputOf(int entry, ulong iova)
    {
        int sizeClass = (int)(_tags[entry] & TlbLayout.SizeClassMask);
        ulong offsetMask = (1UL << Geometry.SizeClassShift(sizeClass)) - 1;
        return _outputs[entry] | (iova & offsetMask);
    }

    /// <summary>The rights cached in <paramref name="entry"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public AccessRights RightsOf(int entry) => (AccessRights)_rights[entry];

    /// <summary>The size class of <paramref name="entry"/>.</summary>
    public int SizeClassOf(int entry) => (int)(_tags[entry] & TlbLayout.SizeClassMask);

    /// <summary>Frees the columns; the TLB must not be used afterwards (its owner checks that).</summary>
    public void Dispose()
    {
        _tags = null;
        _asids = null;
        _outputs = null;
        _rights = null;
        _tagColumn.Dispose();
        _asidColumn.Dispose();
        _outputColumn.Dispose();
        _rightsColumn.Dispose();
    }
}
