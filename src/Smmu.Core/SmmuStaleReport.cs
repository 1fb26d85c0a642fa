using System.Runtime.InteropServices;

namespace Smmu.Core;

/// <summary>One report of the stale-TLB sanitizer (<c>smmu_stale_report</c>); which fields mean something depends on <see cref="Kind"/>.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct SmmuStaleReport
{
    /// <summary>sizeof(smmu_stale_report).</summary>
    public uint Size;
    /// <summary>What is reported.</summary>
    public SmmuStaleKind Kind;
    /// <summary>Stale translation: the stream.</summary>
    public uint StreamId;
    /// <summary>The context bank (stale translation: the one translating; the others: the domain's, or <see cref="NoContextBank"/>).</summary>
    public uint ContextBank;
    /// <summary>The bank's ASID (stale translation: the one the lookup used; the others: the domain's, 0 if none).</summary>
    public uint Asid;
    /// <summary>The bank's VMID (0 without stage 2).</summary>
    public uint Vmid;
    /// <summary>Stale translation: the domain whose tables were walked for the truth; the others: the gather's domain (default for a lazy flush).</summary>
    public DomainHandle Domain;
    /// <summary>Stale translation: the access made.</summary>
    public SmmuAccess Access;
    /// <summary>Stale translation: the IOVA; the others: the first IOVA of the range (0 for a lazy flush).</summary>
    public ulong Iova;
    /// <summary>The last IOVA of the range, inclusive (stale translation: <see cref="Iova"/>).</summary>
    public ulong IovaLast;
    /// <summary>Stale translation: the PA the stale entry gives.</summary>
    public ulong StalePa;
    /// <summary>Stale translation: the PA the tables give now (valid when <see cref="CurrentFault"/> is None).</summary>
    public ulong CurrentPa;
    /// <summary>Stale translation: 1 when the stale entry let the access through (to <see cref="StalePa"/>), 0 when it denied it.</summary>
    public uint StaleGranted;
    /// <summary>Stale translation: what a walk of the tables gives now for this access (None: <see cref="CurrentPa"/>).</summary>
    public FaultType CurrentFault;
    /// <summary>Missed sync: 4 KiB table frames the gather held back until the sync.</summary>
    public uint TablePages;
    /// <summary>0.</summary>
    public uint Reserved;

    /// <summary><see cref="ContextBank"/> when the domain has none.</summary>
    public const uint NoContextBank = uint.MaxValue;

    /// <summary>The size this version of the library writes.</summary>
    public static readonly uint CurrentSize = (uint)Marshal.SizeOf<SmmuStaleReport>();
}
