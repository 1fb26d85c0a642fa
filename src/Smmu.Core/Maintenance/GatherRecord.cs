using Smmu.Core.Memory;

namespace Smmu.Core.Maintenance;

/// <summary>The instance's side of one <see cref="SmmuGather"/>: what its sync must invalidate and the tables it then frees.</summary>
internal struct GatherRecord
{
    /// <summary>Bumped each time the slot is taken: a ticket names one holder of the slot.</summary>
    public uint Generation;
    /// <summary>The record holds a gather (pending, or queued for the lazy flush).</summary>
    public bool Live;
    /// <summary>Lazy mode: synced by the driver, waiting in the flush queue; no longer the caller's.</summary>
    public bool Queued;
    public DomainHandle Domain;
    /// <summary>The gathered IOVAs, inclusive.</summary>
    public ulong First, Last;
    public ulong PageSize;
    /// <summary>A global leaf was among the unmapped: the sync must reach every ASID.</summary>
    public bool RemovedGlobal;
    /// <summary>Tables the unmaps emptied, freed after the invalidation.</summary>
    public PageList Tables;
}
