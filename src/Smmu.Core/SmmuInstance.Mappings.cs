using Smmu.Core.Domains;
using Smmu.Core.PageTables;

namespace Smmu.Core;

/// <summary>smmu.h "Mappings": map, unmap, the software walk, and simulated physical memory.</summary>
public sealed partial class SmmuInstance
{
    /// <summary>
    /// Maps [iova, iova + size) to [pa, pa + size) in the domain's tables (<c>iommu_map</c>), with the
    /// largest leaves that alignment and size allow. Errors: BadHandle; Invalid (misaligned, size 0,
    /// neither READ nor WRITE, unknown bits); Range (beyond 2^ias or 2^oas); Exists (overlap);
    /// NoMemory (pool exhausted). A failed map changes nothing.
    /// </summary>
    public int Map(DomainHandle domain, ulong iova, ulong pa, ulong size, SmmuProt prot)
    {
        ThrowIfDisposed();
        if (!_domains.TryResolve(domain, out int index))
            return SmmuError.BadHandle;
        // A new mapping covers only IOVAs that had none, and the TLB never caches a fault: nothing to invalidate.
        return _mapper.Map(_domains[index].Root, iova, pa, size, prot);
    }

    /// <summary>
    /// Unmaps everything inside [iova, iova + size) (<c>iommu_unmap</c>), splitting blocks that are only
    /// partly inside, and invalidates the range for the domain's ASID. Returns the bytes unmapped (0 if
    /// nothing was mapped), or BadHandle, Invalid, Range, NoMemory (no page for a split; nothing changed).
    /// </summary>
    public long Unmap(DomainHandle domain, ulong iova, ulong size)
    {
        ThrowIfDisposed();
        if (!_domains.TryResolve(domain, out int index))
            return SmmuError.BadHandle;
        ref Domain d = ref _domains[index];
        long unmapped = _mapper.Unmap(d.Root, iova, size);
        if (unmapped > 0 && d.IsAttached)
            _translator.InvalidateRange(d.Asid, iova, iova + size - 1);
        return unmapped;
    }

    /// <summary>
    /// A software walk of the domain's tables (<c>iommu_iova_to_phys</c>): the output address of any
    /// valid leaf, whatever its permissions or AF. Errors: BadHandle; Range (iova beyond 2^ias);
    /// NoEntry (not mapped).
    /// </summary>
    public int IovaToPhys(DomainHandle domain, ulong iova, out ulong pa)
    {
        ThrowIfDisposed();
        pa = 0;
        if (!_domains.TryResolve(domain, out int index))
            return SmmuError.BadHandle;
        if (iova >= _translator.Format.InputLimit)
            return SmmuError.Range;
        return _translator.IovaToPhys(_domains[index].Root, iova, out pa);
    }

    /// <summary>
    /// Reads 8 bytes of simulated physical memory (any table descriptor). Errors: Invalid (not 8-byte
    /// aligned); Range (outside the table pool).
    /// </summary>
    public int PhysRead64(ulong pa, out ulong value)
    {
        ThrowIfDisposed();
        value = 0;
        if ((pa & (Geometry.DescriptorSize - 1)) != 0)
            return SmmuError.Invalid;
        if (!_pool.Contains(pa))
            return SmmuError.Range;
        value = _pool.Word(pa);
        return SmmuError.Ok;
    }

    /// <summary>
    /// Overwrites a valid leaf descriptor, as a CPU store to a PTE would: for fault injection (clear AF,
    /// change AP/XN, point the output beyond oas). The new value must keep the descriptor a leaf of the
    /// same type; tables and invalid descriptors belong to map/unmap and are refused with NotPermitted.
    /// No TLB maintenance happens: invalidate as a driver would. Errors: Invalid (alignment); Range
    /// (outside the pool); NotPermitted.
    /// </summary>
    public int PhysWrite64(ulong pa, ulong value)
    {
        ThrowIfDisposed();
        if ((pa & (Geometry.DescriptorSize - 1)) != 0)
            return SmmuError.Invalid;
        if (!_pool.Contains(pa))
            return SmmuError.Range;
        int level = _pool.LevelOfPage(pa);
        ref ulong descriptor = ref _pool.Word(pa);
        if (level < 0 || !Pte.IsLeaf(descriptor, level) || (value & Pte.TypeMask) != (descriptor & Pte.TypeMask))
            return SmmuError.NotPermitted;
        descriptor = value;
        return SmmuError.Ok;
    }
}
