using Smmu.Core.Diagnostics;
using Smmu.Core.Translation;

namespace Smmu.Core.Maintenance;

/// <summary>
/// The stale-TLB sanitizer's judgement and its reports (<see cref="SmmuConfigFlags.SanitizeTlb"/>). While an
/// unmap's invalidation is pending (gathered, not yet synced; or queued in lazy mode), the TLB entries that
/// invalidation will remove are watched (<see cref="Tlb.WatchWay"/>); a hit on one comes here. The entry
/// still translates — the device sees what the hardware would — but it is compared with a fresh walk of
/// the tables as they are now, and when the two differ for this access (the tables fault or give another
/// PA, or grant what the entry denies) the translation is reported as stale. The walk is the sanitizer's,
/// not the device's: it fills nothing and is not counted in the walk statistics.
/// <para>The model has no walk cache: a walk always reads the tables as they are, so a stale translation
/// can only come from the TLB; the tables an unmap empties are held until the sync all the same (never
/// reused while a real walker might still be reading them).</para>
/// <para>Reports go to <see cref="SmmuInstance.SanitizerReport"/> during the call that found them. Reports
/// raised by a handler's own calls are counted, not delivered, as with fault handlers.</para>
/// </summary>
internal sealed class Sanitizer
{
    private readonly SmmuInstance _owner;
    private readonly Translator _translator;
    private int _handlerDepth;

    public Sanitizer(SmmuInstance owner, Translator translator)
    {
        _owner = owner;
        _translator = translator;
    }

    /// <summary>True when the instance watches pending invalidations (the configuration flag).</summary>
    public bool Watching { get; init; }

    /// <summary>The handler the C ABI installs (<see cref="SmmuInstance.SetSanitizerHandler"/>).</summary>
    public SmmuSanitizerHandler? InstalledHandler { get; set; }

    /// <summary>The managed event's subscribers (<see cref="SmmuInstance.SanitizerReport"/>).</summary>
    public SmmuSanitizerHandler? Subscribers { get; set; }

    /// <summary>True while a handler runs.</summary>
    public bool InHandler => _handlerDepth > 0;

    /// <summary>
    /// A hit on a watched entry: judges it against the tables, reports it if stale, and returns whether the
    /// entry grants the access (then <paramref name="pa"/> is its output — stale or not, what the device gets).
    /// </summary>
    public bool ServeWatched(uint streamId, int bankIndex, ulong iova, SmmuAccess access, int entry, out ulong pa)
    {
        Tlb tlb = _translator.Tlb;
        ref ContextBank bank = ref _translator.Banks[bankIndex];
        AccessRights need = AccessRightsExtensions.Required(access);
        bool staleGranted = (need & ~tlb.WatchedRights(entry)) == 0;
        ulong stalePa = tlb.OutputOf(entry, iova);

        FaultType current = bank.Walk.Walk(iova, out WalkLeaf leaf, out _);
        if (current == FaultType.None && (need & ~leaf.Rights) != 0)
            current = FaultType.Permission;
        ulong currentPa = current == FaultType.None ? leaf.OutputBase | (iova & ((1UL << leaf.Shift) - 1)) : 0;
        bool currentGrants = current == FaultType.None;

        pa = staleGranted ? stalePa : 0;
        if (staleGranted == currentGrants && (!staleGranted || stalePa == currentPa))
            return staleGranted;   // watched, but for this access it agrees with the tables
        _translator.Stats.StaleTranslations++;
        Report(new SmmuStaleReport
        {
            Size = SmmuStaleReport.CurrentSize,
            Kind = SmmuStaleKind.StaleTranslation,
            StreamId = streamId,
            ContextBank = (uint)bankIndex,
            Asid = bank.Asid,
            Vmid = bank.Vmid,
            Domain = bank.IsSplit && (long)iova < 0 ? bank.BaseDomain : bank.ActiveDomain,   // TTBR1 (upper half): the base's tables
            Access = access,
            Iova = iova,
            IovaLast = iova,
            StalePa = stalePa,
            CurrentPa = currentPa,
            StaleGranted = staleGranted ? 1u : 0u,
            CurrentFault = current,
        });
        return staleGranted;
    }

    /// <summary>Delivers a report to the handler (unless one is running) and to EventPipe listeners.</summary>
    public void Report(in SmmuStaleReport report)
    {
        if (SmmuEventSource.Log.IsEnabled())
            SmmuEventSource.Log.SanitizerReport(_owner.Id, report);
        if ((InstalledHandler is null && Subscribers is null) || _handlerDepth > 0)
            return;
        _handlerDepth++;
        try
        {
            InstalledHandler?.Invoke(_owner, report);
            Subscribers?.Invoke(_owner, report);
        }
        finally
        {
            _handlerDepth--;
        }
    }
}
