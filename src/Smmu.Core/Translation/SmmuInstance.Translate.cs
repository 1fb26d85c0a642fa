using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Smmu.Core.Domains;
using Smmu.Core.PageTables;
using Smmu.Core.Translation;

namespace Smmu.Core;

/// <summary>
/// The way a translation travels: stream ID → context bank (TTBR0 + ASID) → TLB lookup; a hit with the
/// rights the access needs gives the PA. In a batch, a miss whose walk ends at a leaf with those rights
/// is filled inside the run (<see cref="Tlb.TranslateRun"/>). Anything else goes to
/// <see cref="TranslateSlow"/>: walk the tables, fill the TLB, check rights, and on a fault record it
/// on the bank and call the base domain's handler.
/// </summary>
public sealed partial class SmmuInstance
{
    /// <summary>
    /// Translates one transaction from a device. Errors: Invalid (stream ID out of range, no access kind
    /// or unknown access bits); NoDevice (stream not attached); Fault (the translation faulted: the
    /// record is on the context bank, see <see cref="GetFault"/>, and went to the base domain's handler).
    /// </summary>
    public int Translate(uint streamId, ulong iova, SmmuAccess access, out ulong pa) => _tlb.Width switch
    {
        SimdWidth.Vector512 => Translate<Vector512Kernel>(streamId, iova, access, out pa),
        SimdWidth.Vector256 => Translate<Vector256Kernel>(streamId, iova, access, out pa),
        SimdWidth.Vector128 => Translate<Vector128Kernel>(streamId, iova, access, out pa),
        _ => Translate<ScalarKernel>(streamId, iova, access, out pa),
    };

    private int Translate<TKernel>(uint streamId, ulong iova, SmmuAccess access, out ulong pa) where TKernel : struct, ITlbKernel
    {
        pa = 0;
        int rc = ResolveStream(streamId, access, out int bank);
        if (rc != SmmuError.Ok)
            return rc;
        _stats.Translations++;
        AccessRights need = AccessRightsExtensions.Required(access);
        int entry = _tlb.Lookup<TKernel>(iova, _banks[bank].Asid);
        if (entry >= 0 && (need & ~_tlb.RightsOf(entry)) == 0)
        {
            _stats.TlbHits++;
            pa = _tlb.OutputOf(entry, iova);
            return SmmuError.Ok;
        }
        return TranslateSlow(streamId, iova, access, entry, out pa);
    }

    /// <summary>
    /// Translates <paramref name="iovas"/> in order into <paramref name="pas"/>, stopping at the first that
    /// fails. <paramref name="done"/> is how many were translated; the return code is that of the one at
    /// index <paramref name="done"/> (Ok when all were). Errors as <see cref="Translate"/>.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="pas"/> is shorter than <paramref name="iovas"/>.</exception>
    public int TranslateBatch(uint streamId, ReadOnlySpan<ulong> iovas, Span<ulong> pas, SmmuAccess access, out int done)
    {
        if (pas.Length < iovas.Length)
            throw new ArgumentException("the output span is shorter than the input span", nameof(pas));
        done = 0;
        int rc = ResolveStream(streamId, access, out int bank);
        if (rc != SmmuError.Ok)
            return rc;
        ref ulong source = ref MemoryMarshal.GetReference(iovas);
        ref ulong destination = ref MemoryMarshal.GetReference(pas);
        return _tlb.Width switch
        {
            SimdWidth.Vector512 => TranslateBatch<Vector512Kernel>(streamId, bank, ref source, ref destination, iovas.Length, access, out done),
            SimdWidth.Vector256 => TranslateBatch<Vector256Kernel>(streamId, bank, ref source, ref destination, iovas.Length, access, out done),
            SimdWidth.Vector128 => TranslateBatch<Vector128Kernel>(streamId, bank, ref source, ref destination, iovas.Length, access, out done),
            _ => TranslateBatch<ScalarKernel>(streamId, bank, ref source, ref destination, iovas.Length, access, out done),
        };
    }

    private int TranslateBatch<TKernel>(uint streamId, int bank, ref ulong iovas, ref ulong pas, int count,
                                        SmmuAccess access, out int done)
        where TKernel : struct, ITlbKernel
    {
        AccessRights need = AccessRightsExtensions.Required(access);
        int rc = SmmuError.Ok, slow = 0, walks = 0, i = 0;
        while (true)
        {
            ref ContextBank cb = ref _banks[bank];
            WalkContext walk = WalkContextOf(in cb);
            i = _tlb.TranslateRun<TKernel>(ref iovas, ref pas, i, count, cb.Asid, need, walk, ref walks, out int entry);
            if (i == count)
                break;
            slow++;
            rc = TranslateSlow(streamId, Unsafe.Add(ref iovas, i), access, entry, out Unsafe.Add(ref pas, i));
            if (rc != SmmuError.Ok)
                break;
            bank = _streams.ContextBankOf(streamId);   // a fault handler that asked for a retry may have switched domains
            i++;
        }
        int processed = rc == SmmuError.Ok ? i : i + 1;
        _stats.Translations += (ulong)processed;
        _stats.TlbHits += (ulong)(processed - slow - walks);
        _stats.TlbMisses += (ulong)walks;
        _stats.Walks += (ulong)walks;
        done = i;
        return rc;
    }

    /// <summary>
    /// A miss, or a hit without the rights: walk, fill, check; on a fault, record it and call the base
    /// domain's handler, retrying once if it asks. <paramref name="entry"/> is the caller's lookup result.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int TranslateSlow(uint streamId, ulong iova, SmmuAccess access, int entry, out ulong pa)
    {
        pa = 0;
        AccessRights need = AccessRightsExtensions.Required(access);
        for (int attempt = 0; ; attempt++)
        {
            int bank = _streams.ContextBankOf(streamId);
            if (bank < 0)
                return SmmuError.NoDevice;   // a fault handler detached the stream before asking for a retry
            ref ContextBank cb = ref _banks[bank];
            if (attempt > 0)
                entry = Lookup(iova, cb.Asid);
            FaultType fault;
            int level;
            if (entry >= 0)
            {
                _stats.TlbHits++;
                if ((need & ~_tlb.RightsOf(entry)) == 0)
                {
                    pa = _tlb.OutputOf(entry, iova);
                    return SmmuError.Ok;
                }
                fault = FaultType.Permission;
                level = Geometry.LevelOfSizeClass(_tlb.SizeClassOf(entry));
            }
            else
            {
                _stats.TlbMisses++;
                _stats.Walks++;
                fault = WalkContextOf(in cb).Walk(iova, out WalkLeaf leaf, out level);
                if (fault == FaultType.None)
                {
                    // Cache the leaf even if this access is denied: it is a valid translation.
                    int filled = _tlb.Fill(iova, cb.Asid, leaf);
                    if ((need & ~leaf.Rights) == 0)
                    {
                        pa = _tlb.OutputOf(filled, iova);
                        return SmmuError.Ok;
                    }
                    fault = FaultType.Permission;
                }
            }
            bool retry = RaiseFault(streamId, bank, iova, access, fault, level);
            if (!retry || attempt > 0)
                return SmmuError.Fault;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int ResolveStream(uint streamId, SmmuAccess access, out int bank)
    {
        bank = -1;
        if (streamId >= (uint)_streams.Count || !AccessRightsExtensions.IsValid(access))
            return SmmuError.Invalid;
        bank = _streams.ContextBankOf(streamId);
        return bank < 0 ? SmmuError.NoDevice : SmmuError.Ok;
    }

    private WalkContext WalkContextOf(in ContextBank bank) => new(_pool, bank.Ttbr0, _mapper.StartLevel, _inputLimit, _outputLimit);

    private int Lookup(ulong iova, ushort asid) => _tlb.Width switch
    {
        SimdWidth.Vector512 => _tlb.Lookup<Vector512Kernel>(iova, asid),
        SimdWidth.Vector256 => _tlb.Lookup<Vector256Kernel>(iova, asid),
        SimdWidth.Vector128 => _tlb.Lookup<Vector128Kernel>(iova, asid),
        _ => _tlb.Lookup<ScalarKernel>(iova, asid),
    };
}
