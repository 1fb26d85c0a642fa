using Smmu.Core.PageTables;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Smmu.Core;

/// <summary>
/// The geometry of one SMMU instance; the same layout as <c>smmu_config</c> in <c>smmu.h</c>.
/// Start from <see cref="Default"/> and change what you need.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct SmmuConfig
{
    /// <summary><c>sizeof(smmu_config)</c>: 56 bytes in this version.</summary>
    public uint Size;
    /// <summary>Context banks, 1..128.</summary>
    public uint NumContextBanks;
    /// <summary>Stream IDs are 0..NumStreamIds-1; 1..65536.</summary>
    public uint NumStreamIds;
    /// <summary>8 or 16. ASID 0 is reserved, so 2^bits - 1 domains can be attached at once.</summary>
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

    /// <summary>The size this version of the library expects in <see cref="Size"/>.</summary>
    public static readonly uint CurrentSize = (uint)Marshal.SizeOf<SmmuConfig>();

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
    };

    /// <summary>Returns <see cref="SmmuError.Ok"/>, or <see cref="SmmuError.Invalid"/> when any field is out of its range.</summary>
    public readonly int Validate()
    {
        bool ok = Size == CurrentSize
            && NumContextBanks is >= 1 and <= MaxContextBanks
            && NumStreamIds is >= 1 and <= MaxStreamIds
            && AsidBits is 8 or 16
            && Ias is >= Geometry.MinAddressBits and <= Geometry.MaxAddressBits
            && Oas is >= Geometry.MinAddressBits and <= Geometry.MaxAddressBits
            && BitOperations.IsPow2(TlbEntries) && TlbEntries <= MaxTlbEntries
            && BitOperations.IsPow2(TlbWays) && TlbWays <= TlbEntries
            && (Flags & ~SmmuConfigFlags.All) == 0
            && Geometry.IsPageAligned(PtPoolBase) && Geometry.IsPageAligned(PtPoolBytes)
            && PtPoolBytes >= Geometry.PageSize && PtPoolBytes / Geometry.PageSize <= MaxPoolPages
            && PtPoolBase <= (1UL << (int)Oas) - PtPoolBytes;   // tables must be reachable by the walker (no overflow: bytes <= 2^32 <= 2^Oas)
        return ok ? SmmuError.Ok : SmmuError.Invalid;
    }
}
