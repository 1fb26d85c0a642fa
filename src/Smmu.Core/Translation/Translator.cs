using Smmu.Core.Memory;
using System.Runtime.CompilerServices;

namespace Smmu.Core.Translation;

/// <summary>
/// Owns the way a translation travels and the state on it: stream → context bank (its regime, TTBRs,
/// ASID, VMID) → TLB → on a miss, a walk of the bank's tables → fill → permission check → PA, or a fault
/// handed to the <see cref="FaultUnit"/>. Also owns TLB maintenance and the counters of all of it.
/// <para>The TLB's compare kernel (the vector width) is chosen once, when the instance is made, by
/// <see cref="Create"/> — the one place in the model that picks a width. Every operation that touches
/// the TLB is abstract here and implemented by <see cref="KernelTranslator{TKernel}"/>, generic on the
/// kernel from entry to fill, so a public call costs one virtual call and no width dispatch.</para>
/// </summary>
internal abstract unsafe class Translator
{
    public readonly Tlb Tlb;
    public readonly StreamTable Streams;
    public readonly ContextBank[] Banks;
    public readonly PagePool Pool;
    public readonly FaultUnit Faults;

    /// <summary>Judges the hits on watched entries (set when the instance has the sanitizer; only a watched entry reaches it).</summary>
    public Maintenance.Sanitizer? Sanitizer { get; set; }

    /// <summary>
    /// The instance's counters, but for the hits C's inline path served (<see cref="StatsSnapshot"/> adds
    /// them); the page counts are filled in by whoever reads them.
    /// </summary>
    public SmmuStats Stats;

    private FastPathView* _view;   // null until exposed, and once disposed

    protected Translator(Tlb tlb, StreamTable streams, ContextBank[] banks, PagePool pool, FaultUnit faults)
    {
        Tlb = tlb;
        Streams = streams;
        Banks = banks;
        Pool = pool;
        Faults = faults;
        Stats.Size = SmmuStats.CurrentSize;
    }

    /// <summary>
    /// Shows this translator's state to C's inline hit path through the view of instance slot <paramref name="slot"/>
    /// (<see cref="FastPathViews"/>), then makes it live by writing <paramref name="handle"/> last.
    /// </summary>
    public void Expose(int slot, uint handle)
    {
        FastPathView* view = FastPathViews.Of(slot);
        view->Hits = 0;
        view->NumStreamIds = (uint)Streams.Count;
        view->Streams = Streams.Column;
        Tlb.Expose(view);
        _view = view;
        view->Handle = handle;
    }

    /// <summary>A bank's TLB context changed (attach, switch): its streams' records, which C's lookups read, take it.</summary>
    public void PublishBank(int bank) => Streams.Republish(bank, Banks[bank].Tlb);

    /// <summary>The counters with C's inline hits folded in: each is a translation and a TLB hit.</summary>
    public SmmuStats StatsSnapshot()
    {
        SmmuStats stats = Stats;
        ulong inlineHits = _view == null ? 0 : _view->Hits;
        stats.Translations += inlineHits;
        stats.TlbHits += inlineHits;
        return stats;
    }

    /// <summary>Zeroes the counters, C's included.</summary>
    public void ResetStats()
    {
        Stats = new SmmuStats { Size = SmmuStats.CurrentSize };
        if (_view != null)
            _view->Hits = 0;
    }

    /// <summary>Takes the view down (C falls back to the library, which answers EBADF) and frees the native state.</summary>
    public void Dispose()
    {
        if (_view != null)
        {
            _view->Handle = FastPathView.NoInstance((int)(_view - FastPathViews.Table));
            _view = null;
        }
        Tlb.Dispose();
        Streams.Dispose();
    }

    /// <summary>Makes the translator for <paramref name="width"/>: the one width dispatch of the model.</summary>
    public static Translator Create(SimdWidth width, Tlb tlb, StreamTable streams, ContextBank[] banks, PagePool pool, FaultUnit faults) =>
        width switch
        {
            SimdWidth.Vector512 => new KernelTranslator<Vector512Kernel>(width, tlb, streams, banks, pool, faults),
            SimdWidth.Vector256 => new KernelTranslator<Vector256Kernel>(width, tlb, streams, banks, pool, faults),
            SimdWidth.Vector128 => new KernelTranslator<Vector128Kernel>(width, tlb, streams, banks, pool, faults),
            _ => new KernelTranslator<ScalarKernel>(SimdWidth.Scalar, tlb, streams, banks, pool, faults),
        };

    /// <summary>The kernel width this translator matches TLB sets with.</summary>
    public abstract SimdWidth Width { get; }

    /// <summary>Translates one transaction (see <see cref="SmmuInstance.Translate"/>).</summary>
    public abstract int Translate(uint streamId, ulong iova, SmmuAccess access, out ulong pa);

    /// <summary>Translates in order, stopping at the first failure (see <see cref="SmmuInstance.TranslateBatch"/>).</summary>
    public abstract int TranslateBatch(uint streamId, ReadOnlySpan<ulong> iovas, Span<ulong> pas, SmmuAccess access, out int done);

    /// <summary>Performs a TLB maintenance operation and counts it; returns the valid entries it removed.</summary>
    public abstract int Invalidate(in Invalidation operation);

    /// <summary>
    /// <see cref="Invalidate"/> of a TLBIVA — <paramref name="asid"/>'s entries and the global ones in [first, last],
    /// within <paramref name="vmid"/> — without the operation record: the invalidation every unmap of an attached
    /// stage-1 domain does.
    /// </summary>
    public abstract int InvalidateVa(ushort asid, ushort vmid, ulong first, ulong last);

    /// <summary>
    /// For the sanitizer: watches the entries <paramref name="operation"/> would remove, now that it is
    /// deferred (see <see cref="Tlb.WatchWay"/>); returns how many it began to watch. Not counted as maintenance.
    /// </summary>
    public abstract int Watch(in Invalidation operation);

    /// <summary>TLBIALL.</summary>
    public void InvalidateAll() => Invalidate(new Invalidation(InvalidationKind.All));

    /// <summary>TLBIASID: the non-global entries of <paramref name="asid"/>; an ASID that is never handed out (0, 0xFFFF) removes none.</summary>
    public void InvalidateAsid(ushort asid) => Invalidate(new Invalidation(InvalidationKind.Asid, Asid: asid));

    /// <summary>
    /// TLBIVA over [first, last] (inclusive, one half): <paramref name="asid"/>'s stage-1 entries and the
    /// global ones (an ASID never handed out: the global ones only), in VMID <paramref name="vmid"/> or
    /// (with <paramref name="anyVmid"/>) in every VMID.
    /// </summary>
    public void InvalidateVa(ushort asid, ulong first, ulong last, ushort vmid, bool anyVmid) =>
        Invalidate(new Invalidation(InvalidationKind.Va, first, last, asid, vmid, anyVmid));

    /// <summary>TLBIVAA over [first, last]: every stage-1 entry, any ASID, in one VMID or every VMID.</summary>
    public void InvalidateVaAllAsids(ulong first, ulong last, ushort vmid, bool anyVmid) =>
        Invalidate(new Invalidation(InvalidationKind.VaAllAsids, first, last, Vmid: vmid, AnyVmid: anyVmid));

    /// <summary>
    /// TLBIVMALL: every entry of <paramref name="vmid"/> — with <paramref name="stage1Only"/>, the entries
    /// that translate an IOVA (stage-1 and combined), not the stage-2-only ones.
    /// </summary>
    public void InvalidateVmid(ushort vmid, bool stage1Only) => Invalidate(new Invalidation(InvalidationKind.Vmid, Vmid: vmid, Stage1Only: stage1Only));

    /// <summary>TLBIIPAS2 over [first, last]: the stage-2-only entries of <paramref name="vmid"/> for those IPAs.</summary>
    public void InvalidateIpa(ushort vmid, ulong first, ulong last) => Invalidate(new Invalidation(InvalidationKind.Ipa, first, last, Vmid: vmid));

    /// <summary>
    /// A software walk of one domain's tables (<c>iommu_iova_to_phys</c>): the output address of any valid
    /// leaf, whatever its rights or AF. NoEntry when nothing is mapped; the caller checks the range.
    /// </summary>
    public int IovaToPhys(in WalkContext walk, ulong iova, out ulong pa)
    {
        pa = 0;
        Stats.Walks++;
        FaultType fault = walk.Walk(iova, out WalkLeaf leaf, out WalkInfo info);
        Stats.DescriptorReads += (ulong)info.DescriptorReads;
        if (fault is not (FaultType.None or FaultType.AccessFlag or FaultType.AddressSize) || info.Stage != (walk.Regime == TranslationRegime.Stage2 ? 2 : 1))
            return SmmuError.NoEntry;
        pa = leaf.OutputBase | (iova & ((1UL << leaf.Shift) - 1));
        return SmmuError.Ok;
    }

    /// <summary>Counts one TLB maintenance operation and the valid entries it removed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected void CountInvalidation(int entriesRemoved)
    {
        Stats.TlbInvalidations++;
        Stats.TlbEntriesInvalidated += (ulong)entriesRemoved;
    }
}
