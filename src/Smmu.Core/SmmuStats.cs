using System.Runtime.InteropServices;

namespace Smmu.Core;

/// <summary>Counters of one instance; the same layout as <c>smmu_stats</c> in <c>smmu.h</c> (88 bytes).</summary>
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

    /// <summary>The size this version of the library expects.</summary>
    public static readonly uint CurrentSize = (uint)Marshal.SizeOf<SmmuStats>();
}
