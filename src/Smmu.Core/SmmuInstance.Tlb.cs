namespace Smmu.Core;

/// <summary>
/// smmu.h "TLB maintenance": the explicit invalidations a driver issues, with the architecture's rules
/// for global entries (ARM ARM, TLB maintenance: by ASID spares them; by VA, by VA for all ASIDs, by VMID
/// and all remove them). The stage-1 operations take no VMID: they apply in every VMID.
/// </summary>
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
    /// Invalidates the non-global entries of one ASID (TLBIASID), in one vector sweep; global entries stay.
    /// Invalid when the ASID is beyond asid_bits; an ASID that is never handed out (0, and 0xFFFF with 16-bit
    /// ASIDs) removes nothing.
    /// </summary>
    public int TlbInvalidateAsid(uint asid)
    {
        ThrowIfDisposed();
        if (asid >= 1u << (int)_config.AsidBits)
            return SmmuError.Invalid;
        _translator.InvalidateAsid((ushort)asid);
        return SmmuError.Ok;
    }

    /// <summary>
    /// Invalidates the entries of one ASID that overlap [iova, iova + size), and the global entries that do
    /// (TLBIVA over a range; any page, block or partial overlap counts). Invalid for an ASID beyond
    /// asid_bits, size 0 or a range that wraps past 2^64 (it may end exactly there).
    /// </summary>
    public int TlbInvalidateVa(uint asid, ulong iova, ulong size)
    {
        ThrowIfDisposed();
        if (asid >= 1u << (int)_config.AsidBits || size == 0 || iova + size - 1 < iova)
            return SmmuError.Invalid;
        _translator.InvalidateVa((ushort)asid, iova, iova + size - 1, 0, anyVmid: true);
        return SmmuError.Ok;
    }

    /// <summary>
    /// Invalidates every ASID's entries, global ones included, that overlap [iova, iova + size) (TLBIVAA,
    /// <c>smmu_tlb_inv_va_all</c>). Invalid for size 0 or a range that wraps past 2^64.
    /// </summary>
    public int TlbInvalidateVaAll(ulong iova, ulong size)
    {
        ThrowIfDisposed();
        if (size == 0 || iova + size - 1 < iova)
            return SmmuError.Invalid;
        _translator.InvalidateVaAllAsids(iova, iova + size - 1, 0, anyVmid: true);
        return SmmuError.Ok;
    }

    /// <summary>
    /// Invalidates every entry of a VMID (TLBIVMALL, <c>smmu_tlb_inv_vmid</c>): stage-2-only and combined.
    /// Invalid for VMID 0 or one beyond vmid_bits (a VMID not in use removes nothing).
    /// </summary>
    public int TlbInvalidateVmid(uint vmid)
    {
        ThrowIfDisposed();
        if (vmid == 0 || vmid >= 1u << (int)_config.VmidBits)
            return SmmuError.Invalid;
        _translator.InvalidateVmid((ushort)vmid, stage1Only: false);
        return SmmuError.Ok;
    }

    /// <summary>
    /// Invalidates a VMID's stage-2-only entries for the IPAs [ipa, ipa + size) (TLBIIPAS2,
    /// <c>smmu_tlb_inv_ipa</c>). As on hardware this does not reach combined stage-1+2 entries: invalidate
    /// the VMID for those. Invalid as <see cref="TlbInvalidateVmid"/>, for size 0, or a range that wraps.
    /// </summary>
    public int TlbInvalidateIpa(uint vmid, ulong ipa, ulong size)
    {
        ThrowIfDisposed();
        if (vmid == 0 || vmid >= 1u << (int)_config.VmidBits || size == 0 || ipa + size - 1 < ipa)
            return SmmuError.Invalid;
        _translator.InvalidateIpa((ushort)vmid, ipa, ipa + size - 1);
        return SmmuError.Ok;
    }
}
