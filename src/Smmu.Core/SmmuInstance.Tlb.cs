namespace Smmu.Core;

/// <summary>smmu.h "TLB maintenance": the explicit invalidations a driver issues.</summary>
public sealed partial class SmmuInstance
{
    /// <summary>Invalidates every TLB entry (TLBIALL).</summary>
    public int TlbInvalidateAll()
    {
        ThrowIfDisposed();
        _translator.InvalidateAll();
        return SmmuError.Ok;
    }

    /// <summary>
    /// Invalidates the entries of one ASID (TLBIASID), in one vector sweep. Invalid when the ASID is
    /// beyond asid_bits; ASID 0 is never in use, so it removes nothing.
    /// </summary>
    public int TlbInvalidateAsid(uint asid)
    {
        ThrowIfDisposed();
        if (asid > (uint)_asids.Capacity)
            return SmmuError.Invalid;
        _translator.InvalidateAsid((ushort)asid);
        return SmmuError.Ok;
    }

    /// <summary>
    /// Invalidates the entries of one ASID that overlap [iova, iova + size) (TLBIVA over a range; any
    /// page, block or partial overlap counts). Invalid for an ASID beyond asid_bits, size 0 or a range
    /// that wraps around 2^64.
    /// </summary>
    public int TlbInvalidateVa(uint asid, ulong iova, ulong size)
    {
        ThrowIfDisposed();
        if (asid > (uint)_asids.Capacity || size == 0 || iova + size - 1 < iova)
            return SmmuError.Invalid;
        _translator.InvalidateRange((ushort)asid, iova, iova + size - 1);
        return SmmuError.Ok;
    }

    /// <summary>
    /// Invalidates every ASID's entries that overlap [iova, iova + size) (TLBIVAA, <c>smmu_tlb_inv_va_all</c>).
    /// Invalid for size 0 or a range that wraps around 2^64.
    /// </summary>
    public int TlbInvalidateVaAll(ulong iova, ulong size)
    {
        ThrowIfDisposed();
        if (size == 0 || iova + size - 1 < iova)
            return SmmuError.Invalid;
        _translator.InvalidateRangeAllAsids(iova, iova + size - 1);
        return SmmuError.Ok;
    }
}
