using Smmu.Core.Domains;
using Smmu.Core.Memory;
using Smmu.Core.PageTables;
using Smmu.Core.Translation;

namespace Smmu.Core.Maintenance;

/// <summary>
/// Deferred TLB maintenance, as Linux drivers do it: an unmap records what must be invalidated in the
/// caller's gather (<c>iommu_iotlb_gather</c>) and keeps the tables it emptied; the sync invalidates,
/// empties the gather, and only then frees those tables. Until the sync the TLB keeps what it cached — the
/// device still sees the old translations, as on hardware. In lazy mode (<see cref="SmmuConfigFlags.LazyFlush"/>,
/// Linux's flush queue) a sync is queued instead, and every <see cref="SmmuConfig.FlushQueueSize"/> queued
/// syncs (or on <see cref="Flush"/>) one invalidate-all replaces them all.
/// <para>Gathering follows <c>iommu_iotlb_gather_add_page</c>: an unmap whose range is disjoint from the
/// gathered one (not overlapping, not adjacent) or whose page size differs syncs the gather first; so does
/// an unmap into another domain (Linux never does that; a gather names one domain here).</para>
/// <para>What the sync invalidates is decided when it runs, from the domain's state then (<see cref="StaleScope"/>),
/// as arm-smmu's tlb_sync uses the domain's ASID then. A gather still pending when its domain is detached
/// or freed is a missed sync: it is reported, and done then (its invalidation, its tables freed).</para>
/// <para>With the sanitizer, each gathered unmap also has the TLB watch the entries its invalidation will
/// remove (<see cref="Sanitizer"/>).</para>
/// </summary>
internal sealed class DeferredMaintenance
{
    private readonly DomainTable _domains;
    private readonly PagePool _pool;
    private readonly Translator _translator;
    private readonly Sanitizer _sanitizer;
    private readonly GatherTable _gathers = new();
    private readonly bool _lazy;
    private readonly int[] _queue;       // lazy mode: slots of synced records awaiting the flush
    private int _queued;
    // A needless invalidation found by a sync is reported once the call that found it is done with its
    // state (a handler may call back in). A call syncs at most once.
    private SmmuStaleReport _heldReport;

    public DeferredMaintenance(DomainTable domains, PagePool pool, Translator translator, Sanitizer sanitizer, in SmmuConfig config)
    {
        _domains = domains;
        _pool = pool;
        _translator = translator;
        _sanitizer = sanitizer;
        _lazy = (config.Flags & SmmuConfigFlags.LazyFlush) != 0;
        _queue = _lazy ? new int[config.FlushQueueSize] : [];
    }

    /// <summary>Syncs queued for the next lazy flush.</summary>
    public int QueuedSyncs => _queued;

    /// <summary>Invalid when <paramref name="gather"/> is not one this instance can use (size, forged ticket).</summary>
    public int Check(in SmmuGather gather) =>
        gather.Size != SmmuGather.CurrentSize || _gathers.Resolve(gather.Ticket, out _) == TicketState.Forged ? SmmuError.Invalid : SmmuError.Ok;

    /// <summary>
    /// Adds an unmap that removed something (from [first, last] of <paramref name="d"/>, with its emptied tables)
    /// to <paramref name="gather"/>, which <see cref="Check"/> accepted; syncs the gather first when the rules say so.
    /// </summary>
    public void Add(ref SmmuGather gather, DomainHandle handle, ref Domain d, ulong first, ulong last, ulong pageSize, bool removedGlobal,
                    ref PageList emptiedTables)
    {
        TicketState state = _gathers.Resolve(gather.Ticket, out int slot);
        if (state == TicketState.Pending)
        {
            ref GatherRecord pending = ref _gathers[slot];
            // Adjacent ranges merge, as in Linux's iommu_iotlb_gather_is_disjoint.
            bool disjoint = (last < pending.First && pending.First - last > 1) || (first > pending.Last && first - pending.Last > 1);
            if (pending.Domain != handle || pending.PageSize != pageSize || disjoint)
            {
                Sync(slot);
                state = TicketState.Empty;
            }
        }
        if (state != TicketState.Pending)
        {
            slot = _gathers.Take();
            ref GatherRecord fresh = ref _gathers[slot];
            fresh.Domain = handle;
            fresh.First = first;
            fresh.Last = last;
            fresh.PageSize = pageSize;
        }
        ref GatherRecord record = ref _gathers[slot];
        record.First = Math.Min(record.First, first);
        record.Last = Math.Max(record.Last, last);
        record.RemovedGlobal |= removedGlobal;
        _pool.Splice(ref record.Tables, ref emptiedTables);
        if (_sanitizer.Watching)
            StaleScope.Of(d, _translator.Banks, first, last, removedGlobal).Watch(_translator);
        gather.DomainValue = handle.Value;
        gather.StartIova = record.First;
        gather.EndIova = record.Last;
        gather.PageSizeBytes = pageSize;
        gather.Ticket = _gathers.TicketOf(slot);
        DeliverHeldReport();
    }

    /// <summary>
    /// <c>iotlb_sync</c>: performs (or in lazy mode queues) the gather's invalidation, frees its tables after
    /// it, and empties the gather. Invalid for a gather of another domain (or a bad one); an empty gather
    /// (or a stale copy of a synced one) is just emptied.
    /// </summary>
    public int Sync(ref SmmuGather gather, DomainHandle handle)
    {
        if (Check(gather) != SmmuError.Ok)
            return SmmuError.Invalid;
        if (_gathers.Resolve(gather.Ticket, out int slot) == TicketState.Pending)
        {
            if (_gathers[slot].Domain != handle)
                return SmmuError.Invalid;
            Sync(slot);
        }
        gather.Reset();
        DeliverHeldReport();
        return SmmuError.Ok;
    }

    /// <summary>The pending flush-all now (lazy mode; otherwise there is never one).</summary>
    public void Flush()
    {
        FlushQueue();
        DeliverHeldReport();
    }

    private void FlushQueue()
    {
        if (_queued == 0)
            return;
        int removed = _translator.Invalidate(new Invalidation(InvalidationKind.All));
        for (int i = 0; i < _queued; i++)
            Retire(_queue[i]);
        _queued = 0;
        if (removed == 0)
            HoldNeedlessReport(default, 0, 0);
    }

    /// <summary>
    /// After a detach or free left <paramref name="handle"/>'s domain unused (<paramref name="state"/>: the domain
    /// as it is now, or was when freed): every gather of it still pending is a missed sync — reported with the
    /// bank, ASID and VMID it had (<paramref name="bank"/> etc.) — and done now. The caller's last step: the
    /// reports may call back in.
    /// </summary>
    public void SettleMissedSyncs(DomainHandle handle, in Domain state, uint bank, uint asid, uint vmid)
    {
        for (int slot = 0; slot < _gathers.SlotCount; slot++)
        {
            ref GatherRecord record = ref _gathers[slot];
            if (!record.Live || record.Queued || record.Domain != handle)
                continue;
            var report = new SmmuStaleReport
            {
                Size = SmmuStaleReport.CurrentSize,
                Kind = SmmuStaleKind.MissedSync,
                ContextBank = bank,
                Asid = asid,
                Vmid = vmid,
                Domain = handle,
                Iova = record.First,
                IovaLast = record.Last,
                TablePages = (uint)record.Tables.Frames,
            };
            Invalidate(slot, state);
            Retire(slot);
            _translator.Stats.MissedSyncs++;
            _sanitizer.Report(report);
        }
    }

    /// <summary>Syncs the record in <paramref name="slot"/> (immediately, or into the flush queue).</summary>
    private void Sync(int slot)
    {
        if (_lazy)
        {
            _gathers[slot].Queued = true;
            _queue[_queued++] = slot;
            if (_queued == _queue.Length)
                FlushQueue();
            return;
        }
        ref GatherRecord record = ref _gathers[slot];
        DomainHandle handle = record.Domain;
        ulong first = record.First, last = record.Last;
        bool resolved = _domains.TryResolve(handle, out int index);
        System.Diagnostics.Debug.Assert(resolved, "a domain's gathers are settled when it is freed");
        int removed = Invalidate(slot, _domains[index]);
        Retire(slot);
        if (removed == 0)
            HoldNeedlessReport(handle, first, last);
    }

    /// <summary>The record's invalidation, as the domain's <paramref name="state"/> needs it; returns the entries removed.</summary>
    private int Invalidate(int slot, in Domain state)
    {
        ref GatherRecord record = ref _gathers[slot];
        return StaleScope.Of(state, _translator.Banks, record.First, record.Last, record.RemovedGlobal).Invalidate(_translator);
    }

    /// <summary>After the invalidation: the tables go back to the pool and the slot is free.</summary>
    private void Retire(int slot)
    {
        _pool.FreeList(ref _gathers[slot].Tables);
        _gathers.Release(slot);
    }

    private void HoldNeedlessReport(DomainHandle handle, ulong first, ulong last)
    {
        _translator.Stats.NeedlessInvalidations++;
        uint bank = SmmuStaleReport.NoContextBank, asid = 0, vmid = 0;
        if (_domains.TryResolve(handle, out int index) && _domains[index].IsAttached)
        {
            ref Domain d = ref _domains[index];
            bank = (uint)d.ContextBank;
            asid = d.Asid;
            vmid = _translator.Banks[d.ContextBank].Vmid;
        }
        System.Diagnostics.Debug.Assert(_heldReport.Size == 0, "a call syncs at most once");
        _heldReport = new SmmuStaleReport
        {
            Size = SmmuStaleReport.CurrentSize,
            Kind = SmmuStaleKind.NeedlessInvalidation,
            ContextBank = bank,
            Asid = asid,
            Vmid = vmid,
            Domain = handle,
            Iova = first,
            IovaLast = last,
        };
    }

    private void DeliverHeldReport()
    {
        if (_heldReport.Size == 0)
            return;
        SmmuStaleReport report = _heldReport;
        _heldReport = default;
        _sanitizer.Report(report);
    }
}
