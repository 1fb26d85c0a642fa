using Smmu.Core.Domains;
using Smmu.Core.Translation;

namespace Smmu.Core.Maintenance;

/// <summary>
/// What an unmap of [first, last] leaves stale in the TLB, as the TLB maintenance Linux's arm-smmu TLB ops
/// would issue for it (SPEC §2), from the domain's state when the invalidation is done:
/// <list type="bullet">
/// <item>a stage-2 domain in use: its IPA range (TLBIIPAS2) and every combined entry of its VMID, which
/// may have used it (TLBIVMALL — the architecture's rule for stage-1+2 TLBs: an IPA invalidation does not
/// reach combined entries);</item>
/// <item>a split base domain's TTBR1 half: the range for every ASID (TLBIVAA), since TCR.A1 = 0 tags its
/// non-global entries with whichever process ran;</item>
/// <item>any other attached stage-1 domain: the range for its ASID, which takes the global entries too (TLBIVA);</item>
/// <item>a global leaf removed: its entries match every ASID and may sit under any VMID it was attached
/// with, so the range for every ASID in every VMID.</item>
/// </list>
/// A detached stage-1 domain's non-global entries went with its ASID at detach; a stage-2 domain that no
/// bank uses has no VMID and no entries. At most two operations.
/// </summary>
internal readonly struct StaleScope
{
    private readonly Invalidation _first;
    private readonly Invalidation _second;

    private StaleScope(int count, Invalidation first, Invalidation second = default)
    {
        Count = count;
        _first = first;
        _second = second;
    }

    /// <summary>Operations in the scope (0: nothing can be cached).</summary>
    public int Count { get; }

    public static StaleScope Of(in Domain d, ContextBank[] banks, ulong first, ulong last, bool removedGlobal)
    {
        if (d.IsStage2)
        {
            return d.Vmid == 0
                ? default
                : new StaleScope(2, new Invalidation(InvalidationKind.Ipa, first, last, Vmid: d.Vmid),
                                 new Invalidation(InvalidationKind.Vmid, Vmid: d.Vmid, Stage1Only: true));
        }
        if (removedGlobal)
            return new StaleScope(1, new Invalidation(InvalidationKind.VaAllAsids, first, last, AnyVmid: true));
        if (!d.IsAttached)
            return default;
        ushort vmid = banks[d.ContextBank].Vmid;
        return d.SplitTtbr1
            ? new StaleScope(1, new Invalidation(InvalidationKind.VaAllAsids, first, last, Vmid: vmid))
            : new StaleScope(1, new Invalidation(InvalidationKind.Va, first, last, d.Asid, vmid));
    }

    /// <summary>Performs the invalidations; returns the entries they removed.</summary>
    public int Invalidate(Translator translator) =>
        (Count > 0 ? translator.Invalidate(_first) : 0) + (Count > 1 ? translator.Invalidate(_second) : 0);

    /// <summary>Marks for the sanitizer the entries the invalidations would remove (<see cref="Translator.Watch"/>).</summary>
    public int Watch(Translator translator) =>
        (Count > 0 ? translator.Watch(_first) : 0) + (Count > 1 ? translator.Watch(_second) : 0);
}
