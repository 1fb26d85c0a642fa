using System.Runtime.CompilerServices;
using Smmu.Core.Domains;
using Smmu.Core.Maintenance;
using Smmu.Core.PageTables;
using Smmu.Core.Translation;

namespace Smmu.Core;

/// <summary>smmu.h "Mappings": map, unmap, the software walk, and simulated physical memory.</summary>
public sealed partial class SmmuInstance
{
    /// <summary>
    /// Maps [iova, iova + size) to [pa, pa + size) in the domain's tables (<c>iommu_map</c>), with the
    /// largest leaves that alignment and size allow. A split base domain maps its TTBR1 half: IOVAs from
    /// 2^64 − 2^ias up. A stage-2 domain maps IPAs. Errors: BadHandle; Invalid (not aligned to the granule,
    /// size 0, neither READ nor WRITE, unknown bits, GLOBAL on a stage-2 domain); Range (outside the domain's
    /// half, or the PA beyond 2^oas); Exists (overlap); NoMemory (pool exhausted). A failed map changes nothing.
    /// </summary>
    // Inlined into its caller (the smmu_map export: one frame from the C call to the descriptor store); no frame zeroing:
    // every local is assigned before use (C#'s rule).
    [MethodImpl(MethodImplOptions.AggressiveInlining), SkipLocalsInit]
    public int Map(DomainHandle domain, ulong iova, ulong pa, ulong size, SmmuProt prot)
    {
        ThrowIfDisposed();
        if (!_domains.TryResolve(domain, out int index))
            return SmmuError.BadHandle;
        ref Domain d = ref _domains[index];
        // A new mapping covers only IOVAs that had none, and the TLB never caches a fault: nothing to invalidate.
        int rc = _mapper.Map(d.Format, d.Root, d.InputBase, iova, pa, size, prot);
        d.RootFixed |= rc == SmmuError.Ok;
        return rc;
    }

    /// <summary>
    /// Unmaps everything inside [iova, iova + size) (<c>iommu_unmap</c>), splitting blocks that are only
    /// partly inside, and invalidates what the TLB may hold of it (<see cref="StaleScope"/>), then frees the tables it emptied.
    /// Returns the bytes unmapped (0 if nothing was mapped), or BadHandle, Invalid, Range, NoMemory (no
    /// table for a split; nothing changed).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining), SkipLocalsInit]   // as Map
    public long Unmap(DomainHandle domain, ulong iova, ulong size)
    {
        ThrowIfDisposed();
        if (!_domains.TryResolve(domain, out int index))
            return SmmuError.BadHandle;
        ref Domain d = ref _domains[index];
        long unmapped = _mapper.Unmap(d.Format, d.Root, d.InputBase, iova, size, out bool removedGlobal);
        if (unmapped > 0)
            StaleScope.InvalidateNow(d, _translator.Banks, iova, iova + size - 1, removedGlobal, _translator);
        return unmapped;
    }

    /// <summary>
    /// A software walk of the domain's tables (<c>iommu_iova_to_phys</c>): the output address of any
    /// valid leaf, whatever its permissions or AF (for a stage-2 domain, the PA of an IPA). Errors:
    /// BadHandle; Range (iova outside the domain's half); NoEntry (not mapped).
    /// </summary>
    public int IovaToPhys(DomainHandle domain, ulong iova, out ulong pa)
    {
        ThrowIfDisposed();
        pa = 0;
        if (!_domains.TryResolve(domain, out int index))
            return SmmuError.BadHandle;
        ref Domain d = ref _domains[index];
        if (iova - d.InputBase >= d.Format.InputLimit)
            return SmmuError.Range;   // outside the domain's half (below a TTBR1 half's base wraps to a huge offset)
        // Each context built where it is used: a conditional expression would build one and copy it whole, and
        // that copy's wide loads would wait on the narrow stores that built it (a failed store-to-load forward).
        if (d.IsStage2)
        {
            WalkContext stage2 = WalkContext.Stage2Tree(_pool, d.Format, d.Root);
            return _translator.IovaToPhys(stage2, iova, out pa);
        }
        WalkContext stage1 = WalkContext.Stage1Tree(_pool, d.Format, d.Root, d.SplitTtbr1);
        return _translator.IovaToPhys(stage1, iova, out pa);
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
        // Any leaf the mapper wrote is a leaf at its level (firstBlockLevel 0: the mapper never wrote a block where the granule allows none).
        if (level < 0 || !Pte.IsLeaf(descriptor, level, firstBlockLevel: 0) || (value & Pte.TypeMask) != (descriptor & Pte.TypeMask))
            return SmmuError.NotPermitted;
        descriptor = value;
        return SmmuError.Ok;
    }
}
