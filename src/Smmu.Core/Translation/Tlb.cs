using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using Smmu.Core.Memory;

namespace Smmu.Core.Translation;

/// <summary>
/// The ASID- and VMID-tagged, set-associative TLB, struct-of-arrays: per entry a tag, an ASID, an
/// output address and an info byte (rights and leaf level), each its own 64-byte-aligned column, so a
/// set's tags (and its ASIDs) are contiguous and compared with one vector instruction. The column
/// layout is <see cref="TlbLayout"/>'s.
/// <para><b>Sets.</b> An entry of size class c for ASID a lives in set ((input &gt;&gt; shift(c)) XOR salt(a))
/// mod Sets. The per-ASID salt matters for dynamic domains: GPU processes map their buffers at the same
/// IOVAs, and without it they would all compete for the same sets, so at most Ways processes could stay
/// warm. XOR keeps each ASID's mapping of pages to sets a bijection. An entry that matches every ASID — a
/// global (nG = 0) stage-1 entry or a stage-2-only entry, ASID <see cref="TlbLayout.NoAsid"/> — must be
/// found from every ASID, so it is unsalted: it lives in set (input &gt;&gt; shift) mod Sets.</para>
/// <para><b>Lookup.</b> The size classes filled since the last full invalidation are probed smallest
/// first; within a class, first the salted set for the ASID (the same single probe as before globals
/// existed, so a non-global hit pays nothing for them), then — only if that class holds entries without
/// an ASID — the unsalted set for one.</para>
/// <para><b>Replacement.</b> An empty way if the set has one, else round-robin per set (the cursor
/// advances only on evictions).</para>
/// <para>The TLB has no vector width of its own: every operation is a generic method over the kernel,
/// and <see cref="KernelTranslator{TKernel}"/> — chosen once per instance — supplies it. Partial files:
/// Tlb.Lookup (probe), Tlb.Fill, Tlb.Invalidate, Tlb.Run (the batch hot loop), Tlb.TestHooks.</para>
/// </summary>
internal sealed unsafe partial class Tlb : IDisposable
{
    private readonly NativeBuffer<ulong> _tagColumn;
    private readonly NativeBuffer<ushort> _asidColumn;
    private readonly NativeBuffer<ulong> _outputColumn;
    private readonly NativeBuffer<byte> _infoColumn;
    // The columns' first elements, one load closer to the hot loops; null once disposed.
    private ulong* _tags;
    private ushort* _asids;
    private ulong* _outputs;
    private byte* _info;
    private readonly ushort[] _nextVictim;
    private readonly int _waysLog2;
    private readonly ulong _setMask;
    private readonly uint _groupMask;     // ways of a group that belong to the set (all 8 unless Ways < 8)
    private readonly nint _sweepLength;   // entries rounded up to the widest sweep
    private uint _sizeClasses;            // bit c: class c was filled since the last InvalidateAll
    private uint _noAsidClasses;          // bit c: an entry without an ASID (global, stage-2-only) of class c was filled
    private FastPathView* _view;          // the instance's view for C's inline hit path, or null

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
        _infoColumn = new NativeBuffer<byte>(padded);
        _tags = _tagColumn.Pointer;
        _asids = _asidColumn.Pointer;
        _outputs = _outputColumn.Pointer;
        _info = _infoColumn.Pointer;
        _nextVictim = new ushort[Sets];
    }

    public int Entries { get; }
    public int Ways { get; }
    public int Sets { get; }

    /// <summary>The output address for <paramref name="input"/> through <paramref name="entry"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong OutputOf(int entry, ulong input)
    {
        int sizeClass = (int)(_tags[entry] & TlbLayout.SizeClassMask);
        ulong offsetMask = (1UL << TlbLayout.SizeClassShift(sizeClass)) - 1;
        return _outputs[entry] | (input & offsetMask);
    }

    /// <summary>The rights cached in <paramref name="entry"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public AccessRights RightsOf(int entry) => (AccessRights)(_info[entry] & TlbLayout.RightsMask);

    /// <summary>The level of the leaf <paramref name="entry"/> caches.</summary>
    public int LevelOf(int entry) => _info[entry] >> TlbLayout.LevelShift;

    /// <summary>The size class of <paramref name="entry"/>.</summary>
    public int SizeClassOf(int entry) => (int)(_tags[entry] & TlbLayout.SizeClassMask);

    /// <summary>
    /// Shows the TLB to C's inline hit path through <paramref name="view"/>: its columns and geometry now, and
    /// its filled size classes whenever they change (<see cref="PublishClasses"/>).
    /// </summary>
    public void Expose(FastPathView* view)
    {
        _view = view;
        view->SetMask = _setMask;
        view->WaysLog2 = (uint)_waysLog2;
        view->GroupMask = _groupMask;
        view->Tags = _tags;
        view->Asids = _asids;
        view->Outputs = _outputs;
        view->Info = _info;
        PublishClasses();
    }

    /// <summary>The size-class masks changed: C's lookups must probe what ours probe.</summary>
    private void PublishClasses()
    {
        if (_view == null)
            return;
        _view->SizeClasses = _sizeClasses;
        _view->NoAsidClasses = _noAsidClasses;
        _view->OneProbeClass = Ways == TlbLayout.GroupWays && BitOperations.IsPow2(_sizeClasses) && (_noAsidClasses & _sizeClasses) == 0
            ? (uint)BitOperations.TrailingZeroCount(_sizeClasses)
            : FastPathView.NoOneProbeClass;
    }

    /// <summary>Frees the columns; the TLB must not be used afterwards (its owner checks that).</summary>
    public void Dispose()
    {
        _view = null;
        _tags = null;
        _asids = null;
        _outputs = null;
        _info = null;
        _tagColumn.Dispose();
        _asidColumn.Dispose();
        _outputColumn.Dispose();
        _infoColumn.Dispose();
    }
}
