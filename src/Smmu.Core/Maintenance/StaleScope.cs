using System.Runtime.CompilerServices;
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
    /// <summary>Which of the cases above; the operations are built where they are used.</summary>
    private enum Case : byte
    {
        Nothing,
        Stage2,
        GlobalRemoved,
        SplitHalf,
        Asid,
    }

    // The scope keeps its inputs, not the two Invalidation records: building those field by field and then
    // copying them whole made every unmap wait on a failed store-to-load forward (the copy's wide load spans
    // the narrow stores), a measurable share of a map-translate-unmap.
    private readonly ulong _first, _last;
    private readonly ushort _asid, _vmid;
    private readonly Case _case;

    private StaleScope(Case scope, ulong first, ulong last, ushort asid = 0, ushort vmid = 0)
    {
        _case = scope;
        _first = first;
        _last = last;
        _asid = asid;
        _vmid = vmid;
    }

    /// <summary>Operations in the scope (0: nothing can be cached).</summary>
    public int Count => _case switch { Case.Nothing => 0, Case.Stage2 => 2, _ => 1 };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static StaleScope Of(in Domain d, ContextBank[] banks, ulong first, ulong last, bool removedGlobal) => CaseOf(d, removedGlobal) switch
    {
        Case.Nothing => default,
        Case.Stage2 => new StaleScope(Case.Stage2, first, last, vmid: d.Vmid),
        Case.GlobalRemoved => new StaleScope(Case.GlobalRemoved, first, last),
        Case scope => new StaleScope(scope, first, last, d.Asid, banks[d.ContextBank].Vmid),
    };

    /// <summary>Which case of the list above an unmap of the domain in its present state falls in.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Case CaseOf(in Domain d, bool removedGlobal)
    {
        if (d.IsStage2)
            return d.Vmid == 0 ? Case.Nothing : Case.Stage2;
        if (removedGlobal)
            return Case.GlobalRemoved;
        if (!d.IsAttached)
            return Case.Nothing;
        return d.SplitTtbr1 ? Case.SplitHalf : Case.Asid;
    }

    /// <summary>
    /// <see cref="Of"/> and <see cref="Invalidate(Translator)"/> at once, for an unmap's immediate maintenance: the common
    /// case (TLBIVA for the domain's ASID) goes straight to the translator without building the scope.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int InvalidateNow(in Domain d, ContextBank[] banks, ulong first, ulong last, bool removedGlobal, Translator translator) =>
        CaseOf(d, removedGlobal) == Case.Asid
            ? translator.InvalidateVa(d.Asid, banks[d.ContextBank].Vmid, first, last)
            : Of(d, banks, first, last, removedGlobal).Invalidate(translator);

    /// <summary>Performs the invalidations; returns the entries they removed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Invalidate(Translator translator) => _case switch
    {
        Case.Nothing => 0,
        Case.Asid => translator.InvalidateVa(_asid, _vmid, _first, _last),   // the common case, without the record
        Case.Stage2 => translator.Invalidate(IpaRange) + translator.Invalidate(CombinedOfVmid),
        _ => translator.Invalidate(Operation),
    };

    /// <summary>Marks for the sanitizer the entries the invalidations would remove (<see cref="Translator.Watch"/>).</summary>
    public int Watch(Translator translator) => _case switch
    {
        Case.Nothing => 0,
        Case.Stage2 => translator.Watch(IpaRange) + translator.Watch(CombinedOfVmid),
        _ => translator.Watch(Operation),
    };

    /// <summary>The one operation of a stage-1 scope.</summary>
    private Invalidation Operation => _case switch
    {
        Case.GlobalRemoved => new Invalidation(InvalidationKind.VaAllAsids, _first, _last, AnyVmid: true),
        Case.SplitHalf => new Invalidation(InvalidationKind.VaAllAsids, _first, _last, Vmid: _vmid),
        _ => new Invalidation(InvalidationKind.Va, _first, _last, _asid, _vmid),
    };

    private Invalidation IpaRange => new(InvalidationKind.Ipa, _first, _last, Vmid: _vmid);

    private Invalidation CombinedOfVmid => new(InvalidationKind.Vmid, Vmid: _vmid, Stage1Only: true);
}
