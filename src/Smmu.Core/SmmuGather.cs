using System.Runtime.InteropServices;

namespace Smmu.Core;

/// <summary>
/// A caller-owned record of unmaps whose TLB invalidation is deferred to <see cref="SmmuInstance.IotlbSync"/>
/// (<c>smmu_gather</c>; Linux's <c>iommu_iotlb_gather</c>). Make one with <c>new SmmuGather()</c> (the C
/// side: <c>smmu_gather_init</c>), pass it to <see cref="SmmuInstance.UnmapPages(DomainHandle, ulong, ulong, ulong, ref SmmuGather)"/>,
/// then sync it. Its range and page size are a read-only mirror of what the instance keeps; the ticket
/// names the instance's record of the gather (the range, whether a global leaf went, the emptied tables held
/// until the sync). A copy of a gather that was synced is empty; a forged ticket is refused with Invalid.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct SmmuGather
{
    /// <summary>sizeof(smmu_gather).</summary>
    public uint Size;
    internal uint DomainValue;
    internal ulong StartIova;
    internal ulong EndIova;
    internal ulong PageSizeBytes;
    internal ulong Ticket;

    /// <summary>An empty gather.</summary>
    public SmmuGather() => Reset();

    /// <summary>The size this version of the library knows.</summary>
    public static readonly uint CurrentSize = (uint)Marshal.SizeOf<SmmuGather>();

    /// <summary>True when nothing is gathered.</summary>
    public readonly bool IsEmpty => Ticket == 0;

    /// <summary>The domain the gathered unmaps were made in (default when empty).</summary>
    public readonly DomainHandle Domain => new(DomainValue);

    /// <summary>First gathered IOVA (<see cref="ulong.MaxValue"/> when empty, as Linux's).</summary>
    public readonly ulong Start => StartIova;

    /// <summary>Last gathered IOVA, inclusive (0 when empty).</summary>
    public readonly ulong End => EndIova;

    /// <summary>The page size of the gathered unmaps (0 when empty).</summary>
    public readonly ulong PageSize => PageSizeBytes;

    /// <summary>Empties the gather (<c>smmu_gather_init</c>, <c>iommu_iotlb_gather_init</c>).</summary>
    internal void Reset()
    {
        Size = CurrentSize;
        DomainValue = 0;
        StartIova = ulong.MaxValue;
        EndIova = 0;
        PageSizeBytes = 0;
        Ticket = 0;
    }
}
