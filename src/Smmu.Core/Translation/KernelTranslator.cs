using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Smmu.Core.Memory;
using Smmu.Core.PageTables;

namespace Smmu.Core.Translation;

/// <summary>
/// The translation pipeline compiled for one TLB kernel. A translation: <see cref="ResolveStream"/>
/// (stream ID → context bank) → <see cref="Tlb.Lookup{TKernel}"/> with the bank's ASID; a hit with the
/// rights the access needs gives the PA. In a batch, a miss whose walk ends at a leaf with those rights
/// is filled inside the run (<see cref="Tlb.TranslateRun{TKernel}"/>). Anything else goes to
/// <see cref="TranslateSlow"/>: walk the bank's tables, fill the TLB, check rights, and on a fault hand
/// it to the <see cref="FaultUnit"/>, which records it and calls the base domain's handler.
/// </summary>
internal sealed class KernelTranslator<TKernel> : Translator where TKernel : struct, ITlbKernel
{
    public KernelTranslator(SimdWidth width, Tlb tlb, StreamTable streams, ContextBank[] banks, PagePool pool,
                            TableFormat format, FaultUnit faults)
        : base(tlb, streams, banks, pool, format, faults) => Width = width;

    public override SimdWidth Width { get; }

    public override int Translate(uint streamId, ulong iova, SmmuAccess access, out ulong pa)
    {
        pa = 0;
        int rc = ResolveStream(streamId, access, out int bank);
        if (rc != SmmuError.Ok)
            return rc;
        Stats.Translations++;
        AccessRights need = AccessRightsExtensions.Required(access);
        int entry = Tlb.Lookup<TKernel>(iova, Banks[bank].Asid);
        if (entry >= 0 && (need & ~Tlb.RightsOf(entry)) == 0)
        {
            Stats.TlbHits++;
            pa = Tlb.OutputOf(entry, iova);
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
        int slow = 0, walks = 0, i = 0;
        while (true)
        {
            ref ContextBank cb = ref Banks[bank];
            var walk = new WalkContext(Pool, cb.Ttbr0, Format);
            i = Tlb.TranslateRun<TKernel>(ref source, ref destination, i, count, cb.Asid, need, walk, ref walks, out int entry);
            if (i == count)
                break;
            slow++;
            rc = TranslateSlow(streamId, Unsafe.Add(ref source, i), access, entry, out Unsafe.Add(ref destination, i));
            if (rc != SmmuError.Ok)
                break;
            bank = Streams.ContextBankOf(streamId);   // a fault handler that asked for a retry may have switched domains
            i++;
        }
        int processed = rc == SmmuError.Ok ? i : i + 1;
        Stats.Translations += (ulong)processed;
        Stats.TlbHits += (ulong)(processed - slow - walks);
        Stats.TlbMisses += (ulong)walks;
        Stats.Walks += (ulong)walks;
        done = i;
        return rc;
    }

    public override void InvalidateAll() => CountInvalidation(Tlb.InvalidateAll<TKernel>());

    public override void InvalidateAsid(ushort asid) =>
        CountInvalidation(asid == TlbLayout.InvalidAsid ? 0 : Tlb.InvalidateAsid<TKernel>(asid));

    public override void InvalidateRange(ushort asid, ulong first, ulong last) =>
        CountInvalidation(asid == TlbLayout.InvalidAsid ? 0 : Tlb.InvalidateRange<TKernel>(asid, first, last));

    public override void InvalidateRangeAllAsids(ulong first, ulong last) =>
        CountInvalidation(Tlb.InvalidateRangeAllAsids<TKernel>(first, last));

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
                entry = Tlb.Lookup<TKernel>(iova, cb.Asid);
            FaultType fault;
            int level;
            if (entry >= 0)
            {
                Stats.TlbHits++;
                if ((need & ~Tlb.RightsOf(entry)) == 0)
                {
                    pa = Tlb.OutputOf(entry, iova);
                    return SmmuError.Ok;
                }
                fault = FaultType.Permission;
                level = Geometry.LevelOfSizeClass(Tlb.SizeClassOf(entry));
            }
            else
            {
                Stats.TlbMisses++;
                Stats.Walks++;
                fault = new WalkContext(Pool, cb.Ttbr0, Format).Walk(iova, out WalkLeaf leaf, out level);
                if (fault == FaultType.None)
                {
                    // Cache the leaf even if this access is denied: it is a valid translation.
                    int filled = Tlb.Fill<TKernel>(iova, cb.Asid, leaf);
                    if ((need & ~leaf.Rights) == 0)
                    {
                        pa = Tlb.OutputOf(filled, iova);
                        return SmmuError.Ok;
                    }
                    fault = FaultType.Permission;
                }
            }
            Stats.Faults++;
            bool retry = Faults.Raise(streamId, bank, iova, access, fault, level);
            if (!retry || attempt > 0)
                return SmmuError.Fault;
        }
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
