namespace Smmu.Core;

/// <summary>What the stale-TLB sanitizer reports (<c>SMMU_STALE_*</c>).</summary>
public enum SmmuStaleKind : uint
{
    /// <summary>
    /// A translation served from a TLB entry that an unmap (or remap) made stale and whose invalidation was
    /// still pending, and that differs from what the tables say now: a DMA after unmap but before the sync,
    /// or a remap the device still sees with its old PA. The translation returns what the hardware would.
    /// </summary>
    StaleTranslation = 1,
    /// <summary>
    /// A gather was never synced: its domain was detached or freed with the invalidation still pending (the
    /// model does that sync then, and frees the held tables).
    /// </summary>
    MissedSync = 2,
    /// <summary>A sync (or a lazy flush) whose invalidation found nothing cached: wasted TLB maintenance. Informational.</summary>
    NeedlessInvalidation = 3,
}
