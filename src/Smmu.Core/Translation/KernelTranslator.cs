using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Smmu.Core.Memory;

namespace Smmu.Core.Translation;

/// <summary>
/// The translation pipeline compiled for one TLB kernel. A translation: <see cref="ResolveStream"/>
/// (stream ID → context bank) → <see cref="Tlb.Lookup{TKernel}"/> with the bank's TLB context (ASID, VMID);
/// a hit with the rights the access needs gives the PA. In a batch, a miss whose walk ends at a leaf with
/// those rights is filled inside the run (<see cref="Tlb.TranslateRun{TKernel}"/>). Anything else goes to
/// <see cref="TranslateSlow"/>: walk the bank's tables (stage 1, stage 2 or both), fill the TLB, check
/// rights, and on a fault hand it to the <see cref="FaultUnit"/>, which records it and calls the base
/// domain's handler.
/// </summary>
internal sealed class KernelTranslator<TKernel> : Translator where TKernel : struct, ITlbKernel
{
    public KernelTranslator(SimdWidth width, Tlb tlb, StreamTable streams, ContextBank[] banks, PagePool pool, FaultUnit faults)
        : base(tlb, streams, banks, pool, faults) => Width = width;

    public override SimdWidth Width { get; }

    public override int Translate(uint streamId, ulong iova, SmmuAccess access, out ulong pa)
    {
        pa = 0;
        int rc = ResolveStream(streamId, access, out int bank);
        if (rc != SmmuError.Ok)
            return rc;
        Stats.Translations++;
        AccessRights need = AccessRightsExtensions.Required(access);
        ref ContextBank cb = ref Banks[bank];
        int entry = Tlb.Lookup<TKernel>(iova, cb.Tlb);
        if (entry >= 0 && (need & ~Tlb.RightsOf(entry)) == 0)
        {
            Stats.TlbHits++;
            pa = Tlb.OutputOf(entry, iova);
            return SmmuError.Ok;
        }
        if (entry < 0 && cb.Walk.IsStage1Granule4K && Tlb.TryWalkAndFillStage1Granule4K<TKernel>(iova, cb.Tlb, need, cb.Walk, out pa, out int reads))
        {
            Stats.TlbMisses++;   // counted as TranslateSlow counts a clean miss
            Stats.Walks++;
            Stats.DescriptorReads += (ulong)reads;
            return SmmuError.Ok;
        }
        return TranslateSlow(streamId, iova, access, entry, out pa);
    }

    public override int TranslateBatch(uint streamId, ReadOnlySpan<ulong> iovas, Span<ulong> pas, SmmuAccess access, out int done)
    {
        done = 0;
        int rc = ResolveStream(streamId, access, out int bank);
        if (rc != SmmuError.Ok)
            return rc;
        ref ulong source = ref MemoryMarshal.GetReference(iovas);
        ref ulong destination = ref MemoryMarshal.GetReference(pas);
        int count = iovas.Length;
        AccessRights need = AccessRightsExtensions.Required(access);
        int i = 0;
        while (true)
        {
            ref ContextBank cb = ref Banks[bank];
            int start = i, walks = 0, reads = 0;
            i = Tlb.TranslateRun<TKernel>(ref source, ref destination, i, count, cb.Tlb, need, cb.Walk, ref walks, ref reads, out int entry);
            // The run's counts go in before the slow path runs a handler: it sees every translation so far, as
            // single translations would show them (hits + misses = translations), the one it faults on included.
            bool more = i < count;
            CountRun(i - start, walks, reads, cb.Regime, more);
            if (!more)
                break;
            rc = TranslateSlow(streamId, Unsafe.Add(ref source, i), access, entry, out ulong pa);
            if (rc != SmmuError.Ok)
                break;
            Unsafe.Add(ref destination, i) = pa;   // only a translation's own result: a failed one leaves its slot alone
            i++;
            // A handler (a fault handler that asked for a retry, the sanitizer's) may have switched domains, or detached the stream.
            bank = Streams.ContextBankOf(streamId);
            if (bank < 0)
            {
                rc = i == count ? SmmuError.Ok : SmmuError.NoDevice;   // the next one is not attempted
                break;
            }
        }
        done = i;
        return rc;
    }

    /// <summary>
    /// Counts a run of a batch: <paramref name="translated"/> translations, of which <paramref name="walks"/> missed
    /// and were filled in the run and the rest hit; and, with <paramref name="andTheNext"/>, the translation the
    /// slow path takes next (its lookup and walk are the slow path's to count, as for a single translation).
    /// </summary>
    private void CountRun(int translated, int walks, int reads, TranslationRegime regime, bool andTheNext)
    {
        Stats.Translations += (ulong)(translated + (andTheNext ? 1 : 0));
        Stats.TlbHits += (ulong)(translated - walks);
        Stats.TlbMisses += (ulong)walks;
        Stats.Walks += (ulong)walks;
        Stats.DescriptorReads += (ulong)reads;
        if (regime != TranslationRegime.Stage1)
            Stats.Stage2Walks += (ulong)walks;
    }

    public override int Invalidate(in Invalidation operation)
    {
        int removed = operation.Kind switch
        {
            InvalidationKind.All => Tlb.InvalidateAll<TKernel>(),
            InvalidationKind.Asid => operation.Asid is TlbLayout.InvalidAsid or TlbLayout.NoAsid ? 0 : Tlb.InvalidateAsid<TKernel>(operation.Asid),
            _ => Apply<EmptyWays>(operation),
        };
        if (operation.Kind == InvalidationKind.Vmid)
            Stats.VmidInvalidations++;
        CountInvalidation(removed);
        return removed;
    }

    public override int InvalidateVa(ushort asid, ushort vmid, ulong first, ulong last)
    {
        int removed = Tlb.InvalidateVa<TKernel, EmptyWays>(asid == TlbLayout.InvalidAsid ? TlbLayout.NoAsid : asid, first, last, TagBase(vmid),
                                                           anyVmid: false);
        CountInvalidation(removed);
        return removed;
    }

    public override int Watch(in Invalidation operation) => operation.Kind switch
    {
        InvalidationKind.All or InvalidationKind.Asid => 0,   // never deferred: syncs invalidate ranges
        _ => Apply<WatchWays>(operation),
    };

    /// <summary>The range and VMID operations, with what they do to the ways they match.</summary>
    private int Apply<TAction>(in Invalidation op) where TAction : struct, ITlbWayAction => op.Kind switch
    {
        InvalidationKind.Va => Tlb.InvalidateVa<TKernel, TAction>(op.Asid == TlbLayout.InvalidAsid ? TlbLayout.NoAsid : op.Asid,
                                                                  op.First, op.Last, TagBase(op.Vmid), op.AnyVmid),
        InvalidationKind.VaAllAsids => Tlb.InvalidateVaAllAsids<TKernel, TAction>(op.First, op.Last, TagBase(op.Vmid), op.AnyVmid),
        InvalidationKind.Vmid => Tlb.InvalidateVmid<TKernel, TAction>(op.Vmid, op.Stage1Only),
        _ => Tlb.InvalidateIpa<TKernel, TAction>(op.First, op.Last, TagBase(op.Vmid) | TlbLayout.Stage2InputFlag),
    };

    private static ulong TagBase(ushort vmid) => (ulong)vmid << TlbLayout.VmidShift;

    /// <summary>
    /// A miss, or a hit without the rights: walk, fill, check; on a fault, hand it to the fault unit and
    /// retry once if the base domain's handler asks. <paramref name="entry"/> is the caller's lookup result.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int TranslateSlow(uint streamId, ulong iova, SmmuAccess access, int entry, out ulong pa)
    {
        pa = 0;
        AccessRights need = AccessRightsExtensions.Required(access);
        for (int attempt = 0; ; attempt++)
        {
            int bank = Streams.ContextBankOf(streamId);
            if (bank < 0)
                return SmmuError.NoDevice;   // a fault handler detached the stream before asking for a retry
            ref ContextBank cb = ref Banks[bank];
            if (attempt > 0)
                entry = Tlb.Lookup<TKernel>(iova, cb.Tlb);
            FaultType fault;
            WalkInfo info;
            if (entry >= 0 && Tlb.IsWatched(entry))
            {
                // Its invalidation is pending: the sanitizer judges it, and it translates as it would on hardware.
                Stats.TlbHits++;
                if (Sanitizer!.ServeWatched(streamId, bank, iova, access, entry, out pa))
                    return SmmuError.Ok;
                fault = FaultType.Permission;
                info = default;
                info.Stage = cb.Regime == TranslationRegime.Stage2 ? 2 : 1;
                info.Level = Tlb.WatchedLevel(entry);
                info.Ipa = info.Stage == 2 ? iova : 0;
            }
            else if (entry >= 0 && cb.Regime != TranslationRegime.Nested)
            {
                Stats.TlbHits++;
                if ((need & ~Tlb.RightsOf(entry)) == 0)
                {
                    pa = Tlb.OutputOf(entry, iova);
                    return SmmuError.Ok;
                }
                fault = FaultType.Permission;
                info = default;
                info.Stage = cb.Regime == TranslationRegime.Stage2 ? 2 : 1;
                info.Level = Tlb.LevelOf(entry);
                info.Ipa = info.Stage == 2 ? iova : 0;
            }
            else if (entry >= 0)
            {
                // A combined entry without the rights: the stages' rights are one in the TLB, so walk again to
                // report the stage that denies, as a nested walk would have. If the tables now grant the
                // access (the entry is stale, or another domain's global one), the TLB's answer stands:
                // a permission fault, of stage 1 at the entry's level.
                Stats.TlbHits++;
                if ((need & ~Tlb.RightsOf(entry)) == 0)
                {
                    pa = Tlb.OutputOf(entry, iova);
                    return SmmuError.Ok;
                }
                fault = Walk(cb, iova, need, out WalkLeaf _, out info, out _);
                if (fault != FaultType.Permission)
                {
                    fault = FaultType.Permission;
                    info = new WalkInfo { Stage = 1, Level = Tlb.LevelOf(entry) };
                }
            }
            else
            {
                Stats.TlbMisses++;
                fault = Walk(cb, iova, need, out WalkLeaf leaf, out info, out bool cacheable);
                if (cacheable)
                {
                    // Cache the leaf even if this access is denied: it is a valid translation.
                    int filled = Tlb.Fill<TKernel>(iova, cb.Tlb, leaf);
                    if (fault == FaultType.None)
                    {
                        pa = Tlb.OutputOf(filled, iova);
                        return SmmuError.Ok;
                    }
                }
            }
            Stats.Faults++;
            bool retry = Faults.Raise(streamId, bank, iova, access, fault, info);
            if (!retry || attempt > 0)
                return SmmuError.Fault;
        }
    }

    /// <summary>
    /// A counted walk of the bank's tables for <paramref name="iova"/> with the permission check: the fault
    /// (None when the access is granted) and, for a permission fault, the stage that denies. <paramref name="cacheable"/>
    /// says the walk reached a valid leaf (granted or not), which the TLB may cache.
    /// </summary>
    private FaultType Walk(in ContextBank cb, ulong iova, AccessRights need, out WalkLeaf leaf, out WalkInfo info, out bool cacheable)
    {
        Stats.Walks++;
        if (cb.Regime != TranslationRegime.Stage1)
            Stats.Stage2Walks++;
        FaultType fault = cb.Walk.Walk(iova, out leaf, out info);
        Stats.DescriptorReads += (ulong)info.DescriptorReads;
        cacheable = fault == FaultType.None;
        if (fault != FaultType.None && info.Stage == 2 && !info.S1ptw && cb.Regime == TranslationRegime.Nested && (need & ~info.Stage1Rights) != 0)
        {
            // Stage 2 could not translate stage 1's output, but stage 1 denies the access first.
            info = new WalkInfo { Stage = 1, Level = info.Stage1Level, DescriptorReads = info.DescriptorReads };
            return FaultType.Permission;
        }
        if (!cacheable || (need & ~leaf.Rights) == 0)
            return fault;
        if (cb.Regime == TranslationRegime.Nested && (need & ~info.Stage1Rights) == 0)
        {
            info.Stage = 2;   // stage 1 allows it: stage 2 denies, at its leaf, for the output IPA
            info.Level = info.Stage2Level;
        }
        else if (cb.Regime == TranslationRegime.Nested)
        {
            info.Ipa = 0;     // a stage-1 permission fault carries no IPA
        }
        return FaultType.Permission;
    }

    /// <summary>Stream matching: the context bank a stream is routed to. Invalid for a bad stream or access, NoDevice when unrouted.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int ResolveStream(uint streamId, SmmuAccess access, out int bank)
    {
        bank = -1;
        if (streamId >= (uint)Streams.Count || !AccessRightsExtensions.IsValid(access))
            return SmmuError.Invalid;
        bank = Streams.ContextBankOf(streamId);
        return bank < 0 ? SmmuError.NoDevice : SmmuError.Ok;
    }
}
