using System.Runtime.InteropServices;

namespace Smmu.Core.Translation;

/// <summary>
/// One instance's read-only view for the C header's inline hit path (<c>smmu_fast_view</c>, smmu.h "The inline
/// fast path"): where its stream table, context banks' TLB contexts and TLB columns are, and the TLB's filled
/// size classes — everything a lookup reads, so that a C caller serves a hit without entering the library.
/// <see cref="Hits"/> is the one field C writes: the hits it served, folded into the statistics.
/// Layout: two cache lines, the first holding all a probe needs before it touches the TLB.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct FastPathView
{
    /// <summary>The <c>smmu_t</c> the view serves; <see cref="NoInstance"/> while the slot has none (C then calls the library).</summary>
    public uint Handle;
    public uint NumStreamIds;
    /// <summary>The TLB's size classes filled since the last full invalidation (bit c: class c).</summary>
    public uint SizeClasses;
    /// <summary>The size classes holding entries without an ASID (global, stage-2-only).</summary>
    public uint NoAsidClasses;
    public ulong SetMask;
    public uint WaysLog2;
    /// <summary>The ways of an 8-way group that belong to a set (0xFF unless the TLB has fewer than 8 ways).</summary>
    public uint GroupMask;
    /// <summary>Per stream ID: its bank and that bank's TLB context.</summary>
    public FastPathStream* Streams;
    public ulong* Tags;
    public ushort* Asids;
    public ulong* Outputs;
    // ---- second cache line ----
    public byte* Info;
    /// <summary>Translations the inline path served (each a TLB hit); written by C only.</summary>
    public ulong Hits;
    /// <summary>The size class a lookup needs probe alone (the only class cached, 8-way sets, no entry without an ASID), or <see cref="NoOneProbeClass"/>.</summary>
    public uint OneProbeClass;
    private uint _reserved0;
    private fixed ulong _reserved[5];

    /// <summary><see cref="OneProbeClass"/> when a lookup may need more than one probe.</summary>
    public const uint NoOneProbeClass = 0xFF;

    /// <summary>sizeof(smmu_fast_view).</summary>
    public const int Size = 128;

    /// <summary>
    /// <see cref="Handle"/> of the view of slot <paramref name="slot"/> while it has no instance: a value whose
    /// low bits name another slot, so no <c>smmu_t</c> that selects this view — real, stale or forged (0 and
    /// 0xffffffff included) — can equal it, and the inline path's one compare sends every such call to the library.
    /// </summary>
    public static uint NoInstance(int slot) => (uint)slot ^ 1;
}

/// <summary>
/// A stream's record as C reads it (<c>smmu_fast_stream</c>): its context bank (-1: unrouted) and that bank's
/// <see cref="TlbContext"/>, kept in step by <see cref="StreamTable"/>.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FastPathStream
{
    public int Bank;
    public ushort Asid;
    private ushort _reserved;
    public ulong Salt;
    public ulong TagBase;

    public FastPathStream(int bank, in TlbContext context)
    {
        Bank = bank;
        Asid = context.Asid;
        Salt = context.Salt;
        TagBase = context.TagBase;
    }

    public static FastPathStream Unrouted => new() { Bank = -1 };
}
