using Smmu.Core.Memory;
using Smmu.Core.PageTables;

namespace Smmu.Core.Translation;

/// <summary>
/// Owns the way a translation travels and the state on it: stream → context bank (its TTBR0/ASID) →
/// TLB → on a miss, a walk of the bank's tables → fill → permission check → PA, or a fault handed to
/// the <see cref="FaultUnit"/>. Also owns TLB maintenance and the counters of all of it.
/// <para>The TLB's compare kernel (the vector width) is chosen once, when the instance is made, by
/// <see cref="Create"/> — the one place in the model that picks a width. Every operation that touches
/// the TLB is abstract here and implemented by <see cref="KernelTranslator{TKernel}"/>, generic on the
/// kernel from entry to fill, so a public call costs one virtual call and no width dispatch.</para>
/// </summary>
internal abstract class Translator
{
    public readonly Tlb Tlb;
    public readonly StreamTable Streams;
    public readonly ContextBank[] Banks;
    public readonly PagePool Pool;
    public readonly TableFormat Format;
    public readonly FaultUnit Faults;

    /// <summary>The instance's counters; the page counts are filled in by whoever reads them.</summary>
    public SmmuStats Stats;

    protected Translator(Tlb tlb, StreamTable streams, ContextBank[] banks, PagePool pool, TableFormat format, FaultUnit faults)
    {
        Tlb = tlb;
        Streams = streams;
        Banks = banks;
        Pool = pool;
        Format = format;
        Faults = faults;
        Stats.Size = SmmuStats.CurrentSize;
    }

    /// <summary>Makes the translator for <paramref name="width"/>: the one width dispatch of the model.</summary>
    public static Translator Create(SimdWidth width, Tlb tlb, StreamTable streams, ContextBank[] banks, PagePool pool,
                                    TableFormat format, FaultUnit faults) => width switch
    {
        SimdWidth.Vector512 => new KernelTranslator<Vector512Kernel>(width, tlb, streams, banks, pool, format, faults),
        SimdWidth.Vector256 => new KernelTranslator<Vector256Kernel>(width, tlb, streams, banks, pool, format, faults),
        SimdWidth.Vector128 => new KernelTranslator<Vector128Kernel>(width, tlb, streams, banks, pool, format, faults),
        _ => new KernelTranslator<ScalarKernel>(SimdWidth.Scalar, tlb, streams, banks, pool, format, faults),
    };

    /// <summary>The kernel width this translator matches TLB sets with.</summary>
    public abstract SimdWidth Width { get; }

    /// <summary>Translates one transaction (see <see cref="SmmuInstance.Translate"/>).</summary>
    public abstract int Translate(uint streamId, ulong iova, SmmuAccess access, out ulong pa);

    /// <summary>Translates in order, stopping at the first failure (see <see cref="SmmuInstance.TranslateBatch"/>).</summary>
    public abstract int TranslateBatch(uint streamId, ReadOnlySpan<ulong> iovas, Span<ulong> pas, SmmuAccess access, out int done);

    /// <summary>TLBIALL.</summary>
    public abstract void InvalidateAll();

    /// <summary>TLBIASID; the invalid ASID has no entries, and its invalidation removes none.</summary>
    public abstract void InvalidateAsid(ushort asid);

    /// <summary>TLBIVA over [first, last] (inclusive) for one ASID; the invalid ASID removes none.</summary>
    public abstract void InvalidateRange(ushort asid, ulong first, ulong last);

    /// <summary>TLBIVAA over [first, last] (inclusive): every ASID.</summary>
    public abstract void InvalidateRangeAllAsids(ulong first, ulong last);

    /// <summary>
    /// A software walk of the tables at <paramref name="root"/> (<c>iommu_iova_to_phys</c>): the output
    /// address of any valid leaf, whatever its rights or AF. NoEntry when nothing is mapped; the caller
    /// checks the range.
    /// </summary>
    public int IovaToPhys(ulong root, ulong iova, out ulong pa)
    {
        pa = 0;
        Stats.Walks++;
        FaultType fault = new WalkContext(Pool, root, Format).Walk(iova, out WalkLeaf leaf, out _);
        if (fault is not (FaultType.None or FaultType.AccessFlag or FaultType.AddressSize))
            return SmmuError.NoEntry;
        pa = leaf.OutputBase | (iova & (Geometry.LevelSize(leaf.Level) - 1));
        return SmmuError.Ok;
    }

    /// <summary>Counts one TLB maintenance operation and the valid entries it removed.</summary>
    protected void CountInvalidation(int entriesRemoved)
    {
        Stats.TlbInvalidations++;
        Stats.TlbEntriesInvalidated += (ulong)entriesRemoved;
    }
}
