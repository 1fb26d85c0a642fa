using Smmu.Core.PageTables;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Smmu.Core;

/// <summary>
/// The geometry of one SMMU instance; the same layout as <c>smmu_config</c> in <c>smmu.h</c>.
/// Start from <see cref="Default"/> and change what you need. The struct grows at its end: a config of
/// ABI 1.0's size (<see cref="SizeV1_0"/>) is accepted, the fields it lacks taking their defaults.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct SmmuConfig
{
    /// <summary><c>sizeof(smmu_config)</c>: <see cref="CurrentSize"/> (64 bytes), or <see cref="SizeV1_0"/>.</summary>
    public uint Size;
    /// <summary>Context banks, 1..128.</summary>
    public uint NumContextBanks;
    /// <summary>Stream IDs are 0..NumStreamIds-1; 1..65536.</summary>
    public uint NumStreamIds;
    /// <summary>8 or 16. ASID 0 is reserved (and 0xFFFF with 16 bits), so 255 or 65534 stage-1 domains can be attached at once.</summary>
    public uint AsidBits;
    /// <summary>Input address size in bits, 32..48; picks the walk's start level.</summary>
    public uint Ias;
    /// <summary>Output address size in bits, 32..48.</summary>
    public uint Oas;
    /// <summary>TLB entries, a power of two, 1..65536.</summary>
    public uint TlbEntries;
    /// <summary>TLB associativity, a power of two, 1..TlbEntries.</summary>
    public uint TlbWays;
    /// <summary><see cref="SmmuConfigFlags"/>.</summary>
    public SmmuConfigFlags Flags;
    /// <summary>Physical address of the page-table pool, 4 KiB aligned.</summary>
    public ulong PtPoolBase;
    /// <summary>Bytes in the pool: a multiple of 4 KiB, 4 KiB..4 GiB, ending at or below 2^Oas.</summary>
    public ulong PtPoolBytes;
    // ---- ABI 1.1 ----
    /// <summary>8 or 16 (default 16). VMID 0 is reserved; 16-bit VMIDs stop at 0x7FFF (see the TLB's tag), so 255 or 32767 stage-2 domains can be in use.</summary>
    public uint VmidBits;
    /// <summary>With <see cref="SmmuConfigFlags.LazyFlush"/>: deferred invalidations queued before one invalidate-all, 1..65536 (default 256, Linux's flush-queue size).</summary>
    public uint FlushQueueSize;

    /// <summary>The size this version of the library expects in <see cref="Size"/>.</summary>
    public static readonly uint CurrentSize = (uint)Marshal.SizeOf<SmmuConfig>();

    /// <summary>The size of ABI 1.0's struct (up to <see cref="PtPoolBytes"/>).</summary>
    public const uint SizeV1_0 = 56;

    /// <summary>Largest pool: 2^20 pages (4 GiB).</summary>
    internal const ulong MaxPoolPages = 1UL << 20;
    internal const uint MaxContextBanks = 128;
    internal const uint MaxStreamIds = 1u << 16;
    internal const uint MaxTlbEntries = 1u << 16;

    /// <summary>The defaults of <c>smmu_config_init</c>.</summary>
    public static SmmuConfig Default => new()
    {
        Size = CurrentSize,
        NumContextBanks = 8,
        NumStreamIds = 128,
        AsidBits = 16,
        Ias = 48,
        Oas = 48,
        TlbEntries = 1024,
        TlbWays = 8,
        Flags = SmmuConfigFlags.None,
        PtPoolBase = 0x4000_0000,
        PtPoolBytes = 64UL << 20,
        VmidBits = 16,
        FlushQueueSize = 256,
    };

    /// <summary>A config of ABI 1.0's size with the fields it lacks at their defaults; any other config as it is.</summary>
    public readonly SmmuConfig WithDefaultsForMissingFields()
    {
        if (Size != SizeV1_0)
            return this;
        SmmuConfig full = this;
        full.Size = CurrentSize;
        full.VmidBits = Default.VmidBits;
        full.FlushQueueSize = Default.FlushQueueSize;
        return full;
    }

    /// <summary>Returns <see cref="SmmuError.Ok"/>, or <see cref="SmmuError.Invalid"/> when any field is out of its range.</summary>
    public readonly int Validate()
    {
        bool ok = Size == CurrentSize
            && NumContextBanks is >= 1 and <= MaxContextBanks
            && NumStreamIds is >= 1 and <= MaxStreamIds
            && AsidBits is 8 or 16
            && VmidBits is 8 or 16
            && FlushQueueSize is >= 1 and <= 1u << 16
            && Ias is >= Geometry.MinAddressBits and <= Geometry.MaxAddressBits
            && Oas is >= Geometry.MinAddressBits and <= Geometry.MaxAddressBits
            && BitOperations.IsPow2(TlbEntries) && TlbEntries <= MaxTlbEntries
            && BitOperations.IsPow2(TlbWays) && TlbWays <= TlbEntries
            && (Flags & ~SmmuConfigFlags.All) == 0
            && Geometry.IsFrameAligned(PtPoolBase) && Geometry.IsFrameAligned(PtPoolBytes)
            && PtPoolBytes >= Geometry.FrameSize && PtPoolBytes / Geometry.FrameSize <= MaxPoolPages
            && PtPoolBase <= (1UL << (int)Oas) - PtPoolBytes;   // tables must be reachable by the walker (no overflow: bytes <= 2^32 <= 2^Oas)
        return ok ? SmmuError.Ok : SmmuError.Invalid;
    }
}
