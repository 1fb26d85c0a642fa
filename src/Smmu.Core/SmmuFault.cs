using System.Runtime.InteropServices;

namespace Smmu.Core;

/// <summary>
/// One translation fault, as delivered to the base domain's handler and kept on the context bank;
/// the same layout as <c>smmu_fault</c> in <c>smmu.h</c>. The struct grows at its end: a caller of ABI 1.0
/// passes 48 bytes and gets that prefix.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct SmmuFault
{
    /// <summary><c>sizeof(smmu_fault)</c>: <see cref="CurrentSize"/>, or <see cref="SizeV1_0"/> from an older caller.</summary>
    public uint Size;
    /// <summary>What went wrong.</summary>
    public FaultType Type;
    /// <summary>The walk level that faulted (for a permission fault, the leaf's level), in the stage that faulted.</summary>
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
    /// <summary>FSYNR0 image: PLVL, WNR, PNU, IND, PTWF.</summary>
    public uint Fsynr;
    // ---- ABI 1.1 ----
    /// <summary>The stage that faulted: 1, or 2 (a stage-2-only bank, or nesting).</summary>
    public uint Stage;
    /// <summary>1 when stage 2 faulted while translating a stage-1 table descriptor's address (S1PTW; FSYNR0.PTWF).</summary>
    public uint S1ptw;
    /// <summary>The IPA stage 2 was translating (CB_IPAFAR), for a stage-2 fault; 0 otherwise.</summary>
    public ulong Ipa;

    /// <summary>The size this version of the library writes.</summary>
    public static readonly uint CurrentSize = (uint)Marshal.SizeOf<SmmuFault>();

    /// <summary>The size of ABI 1.0's struct (up to <see cref="Fsynr"/>).</summary>
    public const uint SizeV1_0 = 48;
}
