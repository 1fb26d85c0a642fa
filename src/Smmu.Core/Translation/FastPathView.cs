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
    /// <summary>The <c>smmu_t</c> the view serves; 0 while the slot has no live instance (C then calls the library).</summary>
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
    /// <summary>Per stream ID: its context bank, or -1.</summary>
    public int* StreamBank;
    /// <summary>Per context bank: its TLB context.</summary>
    public FastPathBank* Banks;
    public ulong* Tags;
    public ushort* Asids;
    // ---- second cache line ----
    public ulong* Outputs;
    public byte* Info;
    /// <summary>Translations the inline path served (each a TLB hit); written by C only.</summary>
    public ulong Hits;
    private fixed ulong _reserved[5];

    /// <summary>sizeof(smmu_fast_view).</summary>
    public const int Size = 128;
}

/// <summary>A context bank's TLB context as C reads it (<c>smmu_fast_bank</c>): <see cref="TlbContext"/>'s fields.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FastPathBank
{
    public ushort Asid;
    private ushort _reserved0;
    private uint _reserved1;
    public ulong Salt;
    public ulong TagBase;

    public FastPathBank(in TlbContext context)
    {
        Asid = context.Asid;
        Salt = context.Salt;
        TagBase = context.TagBase;
    }
}
