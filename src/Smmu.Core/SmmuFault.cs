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
