namespace Smmu.Core;

public sealed partial class SmmuInstance
{
    /// <summary>Invalidates every TLB entry (TLBIALL).</summary>
    public int TlbInvalidateAll()
    {
        CountInvalidation(_tlb.InvalidateAll());
        return SmmuError.Ok;
    }

    /// <summary>
    /// Invalidates the entries of one ASID (TLBIASID), in one vector sweep. Invalid when the ASID is
    /// beyond asid_bits; ASID 0 is never in use, so it removes nothing.
    /// </summary>
    public int TlbInvalidateAsid(uint asid)
    {
        if (asid > (uint)_asids.Capacity)
            return SmmuError.Invalid;
        CountInvalidation(asid == 0 ? 0 : _tlb.InvalidateAsid((ushort)asid));
        return SmmuError.Ok;
    }

    /// <summary>
    /// Invalidates the entries of one ASID that overlap [iova, iova + size) (TLBIVA over a range; any
    /// page, block or partial overlap counts). Invalid for an ASID beyond asid_bits, size 0 or a range
    /// that wraps around 2^64.
    /// </summary>
    public int TlbInvalidateVa(uint asid, ulong iova, ulong size)
    {
        if (asid > (uint)_asids.Capacity || size == 0 || iova + size - 1 < iova)
            return SmmuError.Invalid;
        CountInvalidation(asid == 0 ? 0 : _tlb.InvalidateRange((ushort)asid, iova, iova + size - 1));
        return SmmuError.Ok;
    }

    /// <summary>Invalidates every ASID's entries that overlap [iova, iova + size) (TLBIVAA). Invalid as above.</summary>
    public int TlbInvalidateVaAllAsids(ulong iova, ulong size)
    {
        if (size == 0 || iova + size - 1 < iova)
            return SmmuError.Invalid;
        CountInvalidation(_tlb.InvalidateRange(0, iova, iova + size - 1));
        return SmmuError.Ok;
    }
}
