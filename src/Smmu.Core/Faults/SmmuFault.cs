using System.Runtime.InteropServices;

namespace Smmu.Core;

/// <summary>
/// One translation fault, as delivered to the base domain's handler and kept on the context bank;
/// the same layout as <c>smmu_fault</c> in <c>smmu.h</c> (48 bytes).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct SmmuFault
{
    /// <summary><c>sizeof(smmu_fault)</c>.</summary>
    public uint Size;
    /// <summary>What went wrong.</summary>
    public FaultType Type;
    /// <summary>The walk level that faulted (for a permission fault, the leaf's level).</summary>
    public uint Level;
    /// <summary>The stream ID of the transaction.</summary>
    public uint StreamId;
    /// <summary>The context bank the stream is routed to.</summary>
    public uint ContextBank;
    /// <summary>The ASID the context bank held: the tables that faulted.</summary>
    public uint Asid;
    /// <summary>The transaction's <see cref="SmmuAccess"/>.</summary>
    public SmmuAccess Access;
    /// <summary>The domain whose tables faulted (base or dynamic): unlike the seed's driver, we know.</summary>
    public DomainHandle ActiveDomain;
    /// <summary>The faulting IOVA (FAR).</summary>
    public ulong Iova;
    /// <summary>FSR image: the fault-type bit (see <see cref="FaultRegisters"/>).</summary>
    public uint Fsr;
    /// <summary>FSYNR0 image: PLVL, WNR, PNU, IND.</summary>
    public uint Fsynr;

    /// <summary>The size this version of the library expects.</summary>
    public static readonly uint CurrentSize = (uint)Marshal.SizeOf<SmmuFault>();
}

/// <summary>What a fault handler returns.</summary>
public static class FaultVerdict
{
    /// <summary>Terminate the transaction: translate returns <see cref="SmmuError.Fault"/>.</summary>
    public const int Terminate = 0;
    /// <summary>
    /// The handler fixed the tables (e.g. mapped the page): retry the translation once, as a stalled
    /// transaction resumed with RESUME.RETRY. If the retry faults too, that fault is recorded and
    /// reported to the handler like any other, and the transaction terminates whatever it returns.
    /// </summary>
    public const int Retry = 1;
}

/// <summary>
/// A base domain's fault handler (<c>iommu_set_fault_handler</c>): called for every fault on the
/// domain's context bank, also while a dynamic domain is active (seed constraint 2). It may call
/// back into the instance (read stats, map, unmap, switch) but cannot destroy it. Returns a
/// <see cref="FaultVerdict"/>.
/// </summary>
public delegate int SmmuFaultHandler(SmmuInstance smmu, DomainHandle baseDomain, in SmmuFault fault);

/// <summary>
/// Context-bank fault register layout (ARM SMMUv2, as Linux's arm-smmu.h names it).
/// <code>
/// FSR:    [31] MULTI | [7] ASF | [4] EF | [3] PF | [2] AFF | [1] TF
/// FSYNR0: [6] IND | [5] PNU | [4] WNR | [1:0] PLVL
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

    /// <summary>The FSYNR0 image of a fault at <paramref name="level"/> for <paramref name="access"/>.</summary>
    public static uint Fsynr0For(int level, SmmuAccess access) =>
        ((uint)level & Fsynr0LevelMask)
        | ((access & SmmuAccess.Write) != 0 ? Fsynr0Write : 0)
        | ((access & SmmuAccess.Priv) != 0 ? Fsynr0Privileged : 0)
        | ((access & SmmuAccess.Exec) != 0 ? Fsynr0Instruction : 0);
}
