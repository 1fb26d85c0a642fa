using System.Runtime.InteropServices;

namespace Smmu.Core;

/// <summary>
/// A snapshot of one context bank's registers and ownership; the same layout as <c>smmu_cb_state</c>
/// in <c>smmu.h</c>. The struct grows at its end: a caller of ABI 1.0 passes 56 bytes and gets that prefix.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct ContextBankState
{
    /// <summary><c>sizeof(smmu_cb_state)</c>: <see cref="CurrentSize"/>, or <see cref="SizeV1_0"/> from an older caller.</summary>
    public uint Size;
    /// <summary>1 while a base domain holds the bank.</summary>
    public uint InUse;
    /// <summary>The base domain that owns the bank.</summary>
    public DomainHandle BaseDomain;
    /// <summary>The domain whose tables TTBR0 points at (base or dynamic; the base on a split bank with no process active).</summary>
    public DomainHandle ActiveDomain;
    /// <summary>The ASID in TTBR0.</summary>
    public uint Asid;
    /// <summary>CONTEXTIDR: the active domain's PROCID.</summary>
    public uint ContextIdr;
    /// <summary>Stream IDs routed to the bank.</summary>
    public uint StreamCount;
    /// <summary>Dynamic domains attached on the bank.</summary>
    public uint DynamicCount;
    /// <summary>TTBR0 image: table address in [47:0] (0 while EPD0), ASID in [63:48]; 0 for a free or stage-2-only bank.</summary>
    public ulong Ttbr0;
    /// <summary>FSR (see <see cref="FaultRegisters"/>).</summary>
    public uint Fsr;
    /// <summary>FSYNR0.</summary>
    public uint Fsynr0;
    /// <summary>FAR: the faulting input address (IOVA, or IPA for a stage-2-only bank).</summary>
    public ulong Far;
    // ---- ABI 1.1 ----
    /// <summary>TTBR1 image of a split bank (the base domain's root and ASID), else 0.</summary>
    public ulong Ttbr1;
    /// <summary>VTTBR image (stage-2 root in [47:0], VMID in [63:48]) of a stage-2 or nested bank, else 0.</summary>
    public ulong Vttbr;
    /// <summary>CB_IPAFAR: the IPA of a recorded stage-2 fault.</summary>
    public ulong Ipafar;
    /// <summary>The bank's VMID (0 without stage 2).</summary>
    public uint Vmid;
    /// <summary><see cref="FlagEpd0"/> | <see cref="FlagSplit"/> | regime (0 stage 1, 1 stage 2, 2 nested) &lt;&lt; <see cref="RegimeShift"/>.</summary>
    public uint Flags;
    /// <summary>The bank's stage-1 granule in bytes (TG0 = TG1), or stage 2's for a stage-2-only bank; 0 when free.</summary>
    public uint Granule;
    /// <summary>Always 0.</summary>
    public uint Reserved;

    /// <summary>TCR.EPD0 is set: no TTBR0 walks (a split bank with no process active).</summary>
    public const uint FlagEpd0 = 1u << 0;
    /// <summary>TTBR1 holds the base domain's tables.</summary>
    public const uint FlagSplit = 1u << 1;
    /// <summary>Where the regime sits in <see cref="Flags"/>.</summary>
    public const int RegimeShift = 4;

    /// <summary>The size this version of the library writes.</summary>
    public static readonly uint CurrentSize = (uint)Marshal.SizeOf<ContextBankState>();

    /// <summary>The size of ABI 1.0's struct (up to <see cref="Far"/>).</summary>
    public const uint SizeV1_0 = 56;

    /// <summary>TTBR0 as the hardware register holds it.</summary>
    public static ulong Ttbr0Image(ulong tablePa, ushort asid) => tablePa | (ulong)asid << 48;
}
