using Smmu.Core.PageTables;
using System.Runtime.CompilerServices;

namespace Smmu.Core.Domains;

/// <summary>One domain: its tables and their format, its attributes, and where it is attached.</summary>
internal struct Domain
{
    /// <summary>The slot's current generation (part of the handle).</summary>
    public int Generation;
    public bool InUse;
    /// <summary>DYNAMIC attribute.</summary>
    public bool IsDynamic;
    /// <summary>CONTEXT_BANK attribute of a dynamic domain, -1 while unset.</summary>
    public int RequestedContextBank;
    /// <summary>PROCID attribute.</summary>
    public uint ProcId;
    /// <summary>SPLIT_TTBR1: a base domain whose tables are the bank's TTBR1 half (upper, sign-extended IOVAs).</summary>
    public bool SplitTtbr1;
    /// <summary>GRANULE, as log2 bytes (12, 14, 16).</summary>
    public int GranuleShift;
    /// <summary>The tables' format (stage, granule, sizes): fixed from the first map or attach on.</summary>
    public TableFormat Format;
    /// <summary>Root table: taken at alloc (again when a format attribute changes before the first map or attach), freed with the domain.</summary>
    public ulong Root;
    /// <summary>NEST_PARENT of a stage-1 domain: the stage-2 domain's slot, -1 for none.</summary>
    public int NestParent;
    public DomainHandle NestParentHandle;

    /// <summary>The context bank it is attached on, -1 while detached.</summary>
    public int ContextBank;
    /// <summary>Its ASID while attached (0 while detached, and for a stage-2 domain, which has none).</summary>
    public ushort Asid;
    /// <summary>A base domain: the stream IDs it is attached through (all routed to its bank). 0 for a dynamic domain.</summary>
    public int BaseStreams;
    /// <summary>A dynamic domain: the one stream it was attached through.</summary>
    public uint DynamicStreamId;

    /// <summary>A stage-2 domain: its VMID while in use (0 otherwise).</summary>
    public ushort Vmid;
    /// <summary>A stage-2 domain: banks translating through it (its own, and nested banks). The VMID lives while this is above 0.</summary>
    public int Stage2Users;
    /// <summary>A stage-2 domain: stage-1 domains naming it as NEST_PARENT (it cannot be freed before them).</summary>
    public int NestChildren;

    /// <summary>A base domain's fault handler.</summary>
    public SmmuFaultHandler? FaultHandler;

    /// <summary>The domain was mapped or attached once: its root's address stays (no more reshaping).</summary>
    public bool RootFixed;

    public readonly bool IsAttached => ContextBank >= 0;
    public readonly bool IsStage2 => Format.Stage == 2;

    /// <summary>The lowest IOVA of the domain's half: 0, or 2^64 − 2^ias for a TTBR1 half.</summary>
    public readonly ulong InputBase
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => SplitTtbr1 ? ~0UL << Format.InputBits : 0;
    }
}
