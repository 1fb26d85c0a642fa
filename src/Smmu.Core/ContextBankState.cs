using System.Runtime.InteropServices;

namespace Smmu.Core;

/// <summary>
/// A snapshot of one context bank's registers and ownership; the same layout as <c>smmu_cb_state</c>
/// in <c>smmu.h</c> (56 bytes).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct ContextBankState
{
    /// <summary><c>sizeof(smmu_cb_state)</c>.</summary>
    public uint Size;
    /// <summary>1 while a base domain holds the bank.</summary>
    public uint InUse;
    /// <summary>The base domain that owns the bank.</summary>
    public DomainHandle BaseDomain;
    /// <summary>The domain whose tables TTBR0 points at (base or dynamic).</summary>
    public DomainHandle ActiveDomain;
    /// <summary>The ASID in TTBR0.</summary>
    public uint Asid;
    /// <summary>CONTEXTIDR: the active domain's PROCID.</summary>
    public uint ContextIdr;
    /// <summary>Stream IDs routed to the bank.</summary>
    public uint StreamCount;
    /// <summary>Dynamic domains attached on the bank.</summary>
    public uint DynamicCount;
    /// <summary>TTBR0 image: table address in [47:0], ASID in [63:48].</summary>
    public ulong Ttbr0;
    /// <summary>FSR (see <see cref="FaultRegisters"/>).</summary>
    public uint Fsr;
    /// <summary>FSYNR0.</summary>
    public uint Fsynr0;
    /// <summary>FAR: the faulting IOVA.</summary>
    public ulong Far;

    /// <summary>The size this version of the library expects.</summary>
    public static readonly uint CurrentSize = (uint)Marshal.SizeOf<ContextBankState>();

    /// <summary>TTBR0 as the hardware register holds it.</summary>
    public static ulong Ttbr0Image(ulong tablePa, ushort asid) => tablePa | (ulong)asid << 48;
}
