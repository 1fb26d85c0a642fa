namespace Smmu.Core;

/// <summary>Instance-wide behaviour switches (<c>SMMU_CFG_*</c>).</summary>
[Flags]
public enum SmmuConfigFlags : uint
{
    /// <summary>ASID-tagged TLB: switching domains invalidates nothing (the seed's goal).</summary>
    None = 0,
    /// <summary>What the shipping kgsl driver does: every switch invalidates the context bank's TLB entries.</summary>
    NoAsidTagging = 0x1,
    /// <summary>Match TLB sets way by way instead of with SIMD (for comparison and tests).</summary>
    ScalarTlb = 0x2,
    /// <summary>
    /// The stale-TLB sanitizer: translations served from entries the driver unmapped or remapped but has not
    /// yet invalidated are reported, as are syncs never done and invalidations that found nothing.
    /// </summary>
    SanitizeTlb = 0x4,
    /// <summary>Deferred invalidations (a gather's sync) are queued and replaced by one invalidate-all every <see cref="SmmuConfig.FlushQueueSize"/> (Linux's flush queue).</summary>
    LazyFlush = 0x8,
    /// <summary>Every defined flag.</summary>
    All = NoAsidTagging | ScalarTlb | SanitizeTlb | LazyFlush,
}
