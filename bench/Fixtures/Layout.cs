using Smmu.Core;

namespace Smmu.Bench.Fixtures;

/// <summary>
/// Where the fixtures put things. Every domain maps the same IOVA window (as a GPU driver gives each
/// process the same virtual layout); each domain's data lives in its own GiB of physical space, so a
/// translated PA tells which domain's tables produced it.
/// </summary>
internal static class Layout
{
    /// <summary>The stream ID of the one device every fixture uses.</summary>
    public const uint StreamId = 0;

    /// <summary>Start of the IOVA window shared by every domain (4 GiB, 1 GiB-aligned).</summary>
    public const ulong IovaBase = 0x1_0000_0000;

    /// <summary>Start of the data pages (1 TiB), far above the page-table pool.</summary>
    public const ulong DataBase = 0x100_0000_0000;

    /// <summary>Physical space per domain.</summary>
    public const ulong DomainStride = 1UL << 30;

    /// <summary>4 KiB: a page of the 4 KiB granule, which every benchmark maps with.</summary>
    public const ulong PageSize = 4096;

    /// <summary>2 MiB: a level-2 block (one level's worth of 4 KiB pages: 512).</summary>
    public const ulong BlockSize = PageSize << 9;

    /// <summary>A config with room for thousands of domains' tables (4 table pages per small domain).</summary>
    public static SmmuConfig Config(uint tlbEntries = 1024, uint tlbWays = 8, SmmuConfigFlags flags = SmmuConfigFlags.None)
    {
        SmmuConfig config = SmmuConfig.Default;
        config.TlbEntries = tlbEntries;
        config.TlbWays = tlbWays;
        config.Flags = flags;
        config.PtPoolBytes = 256UL << 20;
        return config;
    }

    /// <summary>
    /// The PA behind <see cref="IovaBase"/> in domain <paramref name="domain"/> (0 = base). One page past
    /// a 2 MiB boundary on purpose: map() picks the largest leaf that alignment allows, and this keeps
    /// every leaf a 4 KiB page.
    /// </summary>
    public static ulong PageDataPa(int domain) => DataBase + (ulong)domain * DomainStride + PageSize;

    /// <summary>The PA that <paramref name="iova"/> must translate to in domain <paramref name="domain"/>.</summary>
    public static ulong ExpectedPa(int domain, ulong iova) => PageDataPa(domain) + (iova - IovaBase);
}
