using Smmu.Core.Domains;
using Smmu.Core.Maintenance;
using Smmu.Core.Memory;
using Smmu.Core.PageTables;

namespace Smmu.Core;

/// <summary>
/// smmu.h "Deferred maintenance": map_pages / unmap_pages, the gather and its sync, the lazy flush queue,
/// and the stale-TLB sanitizer's reports. The state is <see cref="DeferredMaintenance"/>'s and <see cref="Sanitizer"/>'s.
/// </summary>
public sealed partial class SmmuInstance
{
    /// <summary>
    /// Maps <paramref name="pageCount"/> leaves of <paramref name="pageSize"/> bytes from iova to pa
    /// (<c>map_pages</c>): every leaf at the level of that size, as io-pgtable-arm does. Unlike Linux, which
    /// reports in <paramref name="mapped"/> how much it mapped before a failure and leaves the caller to unmap
    /// it, a failed call maps nothing (this API's rule: a failed call changes nothing) and
    /// <paramref name="mapped"/> is 0; on success it is pageSize × pageCount. Errors: BadHandle; Invalid
    /// (a page size the domain's format has no leaves of, a count of 0, iova or pa not aligned to the page
    /// size, and <see cref="Map"/>'s); Range (the size overflows, or <see cref="Map"/>'s); Exists; NoMemory.
    /// </summary>
    public int MapPages(DomainHandle domain, ulong iova, ulong pa, ulong pageSize, ulong pageCount, SmmuProt prot, out ulong mapped)
    {
        ThrowIfDisposed();
        mapped = 0;
        if (!_domains.TryResolve(domain, out int index))
            return SmmuError.BadHandle;
        ref Domain d = ref _domains[index];
        int rc = CheckPages(d, iova | pa, pageSize, pageCount, out int level);
        if (rc == SmmuError.Range && !PageTableMapper.ProtFits(d.Format, prot))
            rc = SmmuError.Invalid;   // every malformed value before any address out of range
        if (rc != SmmuError.Ok)
            return rc;
        rc = _mapper.Map(d.Format, d.Root, d.InputBase, iova, pa, pageSize * pageCount, prot, level);
        if (rc == SmmuError.Ok)
        {
            mapped = pageSize * pageCount;
            d.RootFixed = true;
        }
        return rc;
    }

    /// <summary>
    /// Unmaps [iova, iova + pageSize × pageCount) (<c>unmap_pages</c>) and invalidates what the TLB may hold of
    /// it now, freeing the tables it emptied after that — <see cref="Unmap"/> with a page size. Returns the bytes
    /// unmapped, or BadHandle; Invalid (a page size the format has no leaves of, a count of 0, iova not aligned
    /// to the page size, and <see cref="Unmap"/>'s); Range; NoMemory.
    /// </summary>
    public long UnmapPages(DomainHandle domain, ulong iova, ulong pageSize, ulong pageCount)
    {
        var unused = new SmmuGather();
        return UnmapPages(domain, iova, pageSize, pageCount, ref unused, gathered: false);
    }

    /// <summary>
    /// Unmaps as <see cref="UnmapPages(DomainHandle, ulong, ulong, ulong)"/> does, but defers the invalidation to
    /// <see cref="IotlbSync"/>: the range goes into <paramref name="gather"/> (syncing it first if it holds a
    /// disjoint range, another page size or another domain's unmaps), and the tables the unmap emptied are
    /// held, not reused, until the sync. Until then the TLB keeps whatever it had cached of the range. Errors
    /// as the other overload, and Invalid for a gather that is not one (wrong size, a ticket this instance
    /// never issued).
    /// </summary>
    public long UnmapPages(DomainHandle domain, ulong iova, ulong pageSize, ulong pageCount, ref SmmuGather gather) =>
        UnmapPages(domain, iova, pageSize, pageCount, ref gather, gathered: true);

    /// <summary>
    /// <c>iotlb_sync</c>: performs the gather's invalidation (in lazy mode: queues it for the next flush-all),
    /// then frees the tables it held, and empties it. Syncing an empty gather does nothing. Errors: BadHandle;
    /// Invalid (a gather of another domain, or not one).
    /// </summary>
    public int IotlbSync(DomainHandle domain, ref SmmuGather gather)
    {
        ThrowIfDisposed();
        if (gather.Size != SmmuGather.CurrentSize)
            return SmmuError.Invalid;   // struct sizes come before handles
        if (!_domains.TryResolve(domain, out _))
            return SmmuError.BadHandle;
        return _maintenance.Sync(ref gather, domain);
    }

    /// <summary>Lazy mode: the pending flush-all now (every queued sync's invalidation, then their tables freed). Otherwise nothing is ever queued.</summary>
    public int FlushQueue()
    {
        ThrowIfDisposed();
        _maintenance.Flush();
        return SmmuError.Ok;
    }

    /// <summary>Syncs queued for the next lazy flush-all.</summary>
    public int QueuedSyncs
    {
        get
        {
            ThrowIfDisposed();
            return _maintenance.QueuedSyncs;
        }
    }

    /// <summary>
    /// Installs (or with null, removes) the sanitizer's handler (<c>smmu_set_sanitizer_handler</c>): the one the C
    /// ABI sets. <see cref="SanitizerReport"/> subscribers get the same reports.
    /// </summary>
    public int SetSanitizerHandler(SmmuSanitizerHandler? handler)
    {
        ThrowIfDisposed();
        _sanitizer.InstalledHandler = handler;
        return SmmuError.Ok;
    }

    /// <summary>
    /// The sanitizer's reports (<see cref="SmmuStaleReport"/>), during the call that found them: stale translations
    /// (with <see cref="SmmuConfigFlags.SanitizeTlb"/>), missed syncs and needless invalidations (always).
    /// </summary>
    public event SmmuSanitizerHandler? SanitizerReport
    {
        add
        {
            ThrowIfDisposed();
            _sanitizer.Subscribers += value;
        }
        remove
        {
            ThrowIfDisposed();
            _sanitizer.Subscribers -= value;
        }
    }

    private long UnmapPages(DomainHandle domain, ulong iova, ulong pageSize, ulong pageCount, ref SmmuGather gather, bool gathered)
    {
        ThrowIfDisposed();
        if (gathered && gather.Size != SmmuGather.CurrentSize)
            return SmmuError.Invalid;   // struct sizes come before handles
        if (!_domains.TryResolve(domain, out int index))
            return SmmuError.BadHandle;
        if (gathered && _maintenance.Check(gather) != SmmuError.Ok)
            return SmmuError.Invalid;   // a forged ticket
        ref Domain d = ref _domains[index];
        int rc = CheckPages(d, iova, pageSize, pageCount, out _);
        if (rc != SmmuError.Ok)
            return rc;
        ulong last = iova + (pageSize * pageCount - 1);
        long unmapped = _mapper.Unmap(d.Format, d.Root, d.InputBase, iova, pageSize * pageCount, deferFrees: gathered,
                                      out bool removedGlobal, out PageList emptiedTables);
        if (unmapped <= 0)
            return unmapped;
        if (gathered)
            _maintenance.Add(ref gather, domain, ref d, iova, last, pageSize, removedGlobal, ref emptiedTables);
        else
            StaleScope.Of(d, _translator.Banks, iova, last, removedGlobal).Invalidate(_translator);
        return unmapped;
    }

    /// <summary>map_pages / unmap_pages's own checks: a leaf size of the format, a count, alignment to the page size, no overflow.</summary>
    private static int CheckPages(in Domain d, ulong addresses, ulong pageSize, ulong pageCount, out int level)
    {
        if (!d.Format.TryLevelOfPageSize(pageSize, out level) || pageCount == 0 || (addresses & (pageSize - 1)) != 0)
            return SmmuError.Invalid;
        return pageCount > ulong.MaxValue / pageSize ? SmmuError.Range : SmmuError.Ok;
    }
}
