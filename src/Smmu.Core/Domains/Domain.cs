namespace Smmu.Core.Domains;

/// <summary>One domain: its tables, its attributes, and where it is attached.</summary>
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
    /// <summary>Root table (TTBR0's address): taken at alloc, never moves, freed with the domain.</summary>
    public ulong Root;
    /// <summary>The context bank it is attached on, -1 while detached.</summary>
    public int ContextBank;
    /// <summary>Its ASID while attached; 0 while detached.</summary>
    public ushort Asid;
    /// <summary>A base domain: the stream IDs it is attached through (all routed to its bank). 0 for a dynamic domain.</summary>
    public int BaseStreams;
    /// <summary>A dynamic domain: the one stream it was attached through.</summary>
    public uint DynamicStreamId;
    /// <summary>A base domain's fault handler.</summary>
    public SmmuFaultHandler? FaultHandler;

    public readonly bool IsAttached => ContextBank >= 0;
}
