using System.Runtime.CompilerServices;
using Smmu.Core.Translation;

namespace Smmu.Core.PageTables;

/// <summary>
/// VMSAv8-64 stage-2 leaf attributes, bit for bit as io-pgtable-arm's ARM_64_LPAE_S2 writes them (the
/// layout of types, addresses and AF is <see cref="Pte"/>'s):
/// <code>
/// [54:53] XN (written 0b11 for IOMMU_NOEXEC) | [10] AF | [9:8] SH | [7] S2AP write | [6] S2AP read
/// [5:2] MemAttr: 0b1111 outer+inner write-back (CACHE), 0b0101 non-cacheable, 0b0001 Device-nGnRE (MMIO)
/// </code>
/// There is no nG: stage 2 is not ASID-tagged. The model reads execute permission from bit 54 alone, as an
/// MMU-500 without FEAT_XNX does (bit 53 is ignored: XN = 1 denies execution at every level).
/// </summary>
internal static class Stage2Pte
{
    public const ulong S2apRead = 1UL << 6;
    public const ulong S2apWrite = 1UL << 7;
    public const int MemAttrShift = 2;
    public const ulong MemAttrMask = 0b1111UL << MemAttrShift;
    public const ulong MemAttrWriteBack = 0b1111UL << MemAttrShift;
    public const ulong MemAttrNonCacheable = 0b0101UL << MemAttrShift;
    public const ulong MemAttrDevice = 0b0001UL << MemAttrShift;
    /// <summary>XN as the model reads it (bit 54).</summary>
    public const ulong ExecuteNever = 1UL << 54;
    /// <summary>XN as io-pgtable-arm writes it for IOMMU_NOEXEC: bits 54:53 = 0b11.</summary>
    public const ulong ExecuteNeverWritten = 0b11UL << 53;

    /// <summary>io-pgtable-arm's arm_lpae_prot_to_pte for ARM_64_LPAE_S2 (no nG; <see cref="SmmuProt.Global"/> and PRIV do not apply).</summary>
    public static ulong AttributesFor(SmmuProt prot)
    {
        ulong pte = Pte.AccessFlag;
        if ((prot & SmmuProt.Read) != 0)
            pte |= S2apRead;
        if ((prot & SmmuProt.Write) != 0)
            pte |= S2apWrite;
        if ((prot & SmmuProt.Mmio) != 0)
            pte |= MemAttrDevice;
        else if ((prot & SmmuProt.Cache) != 0)
            pte |= MemAttrWriteBack;
        else
            pte |= MemAttrNonCacheable;
        pte |= (prot & SmmuProt.Cache) != 0 ? Pte.InnerShareable : Pte.OuterShareable;
        if ((prot & SmmuProt.NoExec) != 0)
            pte |= ExecuteNeverWritten;
        return pte;
    }

    /// <summary>
    /// What a stage-2 leaf grants, to privileged and unprivileged accesses alike (stage 2 does not see
    /// the privilege): S2AP[0] read, S2AP[1] write, execute unless XN (bit 54).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static AccessRights Rights(ulong pte)
    {
        var rights = AccessRights.None;
        if ((pte & S2apRead) != 0)
            rights |= AccessRights.PrivRead | AccessRights.UserRead;
        if ((pte & S2apWrite) != 0)
            rights |= AccessRights.PrivWrite | AccessRights.UserWrite;
        if ((pte & ExecuteNever) == 0)
            rights |= AccessRights.PrivExec | AccessRights.UserExec;
        return rights;
    }
}
