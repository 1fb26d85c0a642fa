namespace Smmu.Core;

/// <summary>
/// Context-bank fault register layout (ARM SMMUv2, as Linux's arm-smmu.h names it).
/// <code>
/// FSR:    [31] MULTI | [7] ASF | [4] EF | [3] PF | [2] AFF | [1] TF
/// FSYNR0: [10] PTWF | [6] IND | [5] PNU | [4] WNR | [1:0] PLVL
/// IPAFAR: the IPA of a stage-2 fault
/// </code>
/// </summary>
public static class FaultRegisters
{
    /// <summary>Translation fault.</summary>
    public const uint FsrTranslation = 1u << 1;
    /// <summary>Access flag fault.</summary>
    public const uint FsrAccessFlag = 1u << 2;
    /// <summary>Permission fault.</summary>
    public const uint FsrPermission = 1u << 3;
    /// <summary>External fault.</summary>
    public const uint FsrExternal = 1u << 4;
    /// <summary>Address size fault.</summary>
    public const uint FsrAddressSize = 1u << 7;
    /// <summary>A further fault arrived while one was recorded; FAR and FSYNR0 keep the first.</summary>
    public const uint FsrMulti = 1u << 31;
    /// <summary>Any fault-type bit.</summary>
    public const uint FsrFaultMask = FsrTranslation | FsrAccessFlag | FsrPermission | FsrExternal | FsrAddressSize;

    /// <summary>Page-table level of the fault.</summary>
    public const uint Fsynr0LevelMask = 0b11;
    /// <summary>Write, not read.</summary>
    public const uint Fsynr0Write = 1u << 4;
    /// <summary>Privileged, not unprivileged.</summary>
    public const uint Fsynr0Privileged = 1u << 5;
    /// <summary>Instruction fetch, not data.</summary>
    public const uint Fsynr0Instruction = 1u << 6;
    /// <summary>PTWF: the fault happened while stage 2 translated a stage-1 table walk's access (S1PTW).</summary>
    public const uint Fsynr0PageTableWalk = 1u << 10;

    /// <summary>The FSR bit of a fault type.</summary>
    public static uint FsrFor(FaultType type) => type switch
    {
        FaultType.Translation => FsrTranslation,
        FaultType.Permission => FsrPermission,
        FaultType.AccessFlag => FsrAccessFlag,
        FaultType.AddressSize => FsrAddressSize,
        FaultType.External => FsrExternal,
        _ => 0,
    };

    /// <summary>The FSYNR0 image of a fault at <paramref name="level"/> for <paramref name="access"/>, during a stage-1 walk's table fetch or not.</summary>
    public static uint Fsynr0For(int level, SmmuAccess access, bool s1ptw = false) =>
        ((uint)level & Fsynr0LevelMask)
        | (s1ptw ? Fsynr0PageTableWalk : 0)
        | ((access & SmmuAccess.Write) != 0 ? Fsynr0Write : 0)
        | ((access & SmmuAccess.Priv) != 0 ? Fsynr0Privileged : 0)
        | ((access & SmmuAccess.Exec) != 0 ? Fsynr0Instruction : 0);
}
