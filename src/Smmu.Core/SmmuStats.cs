using System.Runtime.InteropServices;

namespace Smmu.Core;

/// <summary>
/// Counters of one instance; the same layout as <c>smmu_stats</c> in <c>smmu.h</c>. The struct grows at its
/// end: a caller of ABI 1.0 passes 88 bytes and gets that prefix.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct SmmuStats
{
    /// <summary><c>sizeof(smmu_stats)</c>.</summary>
    public uint Size;
    /// <summary>Always 0.</summary>
    public uint Reserved;
    /// <summary>Translations requested through a stream (single or batch), faulted ones included.</summary>
    public ulong Translations;
    /// <summary>TLB lookups that hit. Hits + misses = translations + retries after a fault handler.</summary>
    public ulong TlbHits;
    /// <summary>TLB lookups that missed.</summary>
    public ulong TlbMisses;
    /// <summary>Table walks: one per TLB miss, plus one per iova_to_phys.</summary>
    public ulong Walks;
    /// <summary>Translations that faulted (each raised fault, retries included).</summary>
    public ulong Faults;
    /// <summary>TLB maintenance operations: explicit ones, and those done by unmap, detach and flush-on-switch.</summary>
    public ulong TlbInvalidations;
    /// <summary>Valid TLB entries those operations removed.</summary>
    public ulong TlbEntriesInvalidated;
    /// <summary>Domain switches.</summary>
    public ulong Switches;
    /// <summary>Table pages in use (roots included).</summary>
    public ulong PtPagesInUse;
    /// <summary>Table pages free; in use + free = the pool's pages.</summary>
    public ulong PtPagesFree;
    // ---- ABI 1.1 ----
    /// <summary>Walks that went through stage 2 (a stage-2-only bank's, or nested).</summary>
    public ulong Stage2Walks;
    /// <summary>Descriptors read by all walks (a 4-level stage 1 nested in a 4-level stage 2 reads up to 24).</summary>
    public ulong DescriptorReads;
    /// <summary>VMID-wide invalidations (explicit, by stage-2 unmap, or when a VMID is freed).</summary>
    public ulong VmidInvalidations;
    /// <summary>Translations the stale-TLB sanitizer reported (served from an entry the driver had unmapped or remapped but not invalidated).</summary>
    public ulong StaleTranslations;
    /// <summary>Pending invalidations that were never synced (tables freed or a domain detached with a gather pending).</summary>
    public ulong MissedSyncs;
    /// <summary>Invalidations that found nothing cached (informational: wasted TLB maintenance).</summary>
    public ulong NeedlessInvalidations;

    /// <summary>The size this version of the library writes.</summary>
    public static readonly uint CurrentSize = (uint)Marshal.SizeOf<SmmuStats>();

    /// <summary>The size of ABI 1.0's struct (up to <see cref="PtPagesFree"/>).</summary>
    public const uint SizeV1_0 = 88;
}
