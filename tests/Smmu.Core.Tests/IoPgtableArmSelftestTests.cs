using Smmu.Core;
using static Smmu.Core.Tests.TestSmmu;

namespace Smmu.Core.Tests;

/// <summary>
/// Linux's own io-pgtable-arm self-test, ported: <c>arm_lpae_do_selftests</c> / <c>arm_lpae_run_tests</c>
/// from <c>drivers/iommu/io-pgtable-arm-selftests.c</c> (the KUnit version Linux has now), with the two
/// split-on-unmap steps ("Partial unmap", "Remap of partial unmap") that the older in-file version in
/// <c>io-pgtable-arm.c</c> (<c>CONFIG_IOMMU_IO_PGTABLE_LPAE_SELFTEST</c>, up to v6.12) ran between the
/// distinct mappings and the full unmap. The same matrix as Linux: the 4K, 16K and 64K page-size sets,
/// every ias ≤ oas pair of {32, 36, 40, 42, 44, 48}, and both formats (ARM_64_LPAE_S1, ARM_64_LPAE_S2).
/// <para>
/// How Linux's calls map onto the model: one <see cref="SmmuInstance"/> per (page-size set, ias, oas) —
/// Linux's <c>io_pgtable_cfg</c> — and one unattached domain per format in it, with GRANULE (and STAGE 2)
/// set: <c>alloc_io_pgtable_ops</c>. <c>map_pages</c> → <see cref="SmmuInstance.Map"/>, <c>unmap_pages</c>
/// → <see cref="SmmuInstance.Unmap"/> (both return bytes), <c>iova_to_phys</c> →
/// <see cref="SmmuInstance.IovaToPhys"/>, whose <see cref="SmmuError.NoEntry"/> is Linux's 0 ("no
/// translation": in Linux a PA of 0 cannot be told apart; here it can). <c>free_io_pgtable_ops</c> →
/// <see cref="SmmuInstance.DomainFree"/>. The Linux test stops a format at its first failure; here every
/// step is an assertion whose message names the format, the page-size set, ias, oas and the step.
/// </para>
/// Steps marked "(model)" are not in any Linux version: they check what a Linux step implies (the
/// failed map changed nothing, the rest of a split block still translates, nothing leaks).
/// </summary>
public class IoPgtableArmSelftestTests
{
    private const ulong OneGiB = 1UL << 30, TwoGiB = 2 * OneGiB;

    /// <summary>
    /// Linux's <c>pgsize[]</c>, smallest size first (<c>for_each_set_bit</c> order): one set per granule,
    /// whose smallest size is the granule (SZ_4K | SZ_2M | SZ_1G, SZ_16K | SZ_32M, SZ_64K | SZ_512M).
    /// </summary>
    private static readonly ulong[][] PageSizeSets =
    [
        [4UL << 10, 2UL << 20, 1UL << 30],
        [16UL << 10, 32UL << 20],
        [64UL << 10, 512UL << 20],
    ];

    /// <summary>Linux's <c>address_size[]</c>.</summary>
    internal static readonly uint[] AddressSizes = [32, 36, 40, 42, 44, 48];

    /// <summary>
    /// The table pool, kept away from every output address the self-test uses: the identity maps at j GiB
    /// (j &lt; 3, ending by 3 GiB), the refused overlapping maps at iova + size (ending by 4 GiB), the
    /// remapped page at PA = the smallest size, and the last largest page below 2^ias (from 3 GiB up with
    /// ias = 32). [512 MiB, 516 MiB) is in none of them for any page-size set, and fits below 2^32 for
    /// oas = 32 (<see cref="SmmuConfig.Validate"/>: base + bytes ≤ 2^oas). The model would not mind an
    /// overlap — output addresses are just numbers — but keeping them apart keeps every PA unambiguous.
    /// The pool is pinned whatever <c>SMMU_TEST_POOL_BASE</c> says: a random base below 2^32 might not fit
    /// below 2^32 with oas = 32. 4 MiB is ample: the largest tree here (a 16-table stage-2 root of 16 KiB
    /// tables, or 64 KiB tables at three levels) takes well under 1 MiB.
    /// </summary>
    internal const ulong PoolBase = 512UL << 20, PoolBytes = 4UL << 20;

    /// <summary>An instance with Linux's <c>cfg.ias</c> / <c>cfg.oas</c> and the pinned pool.</summary>
    internal static SmmuInstance CreateInstance(uint ias, uint oas) =>
        Create(c => c with { Ias = ias, Oas = oas, PtPoolBase = PoolBase, PtPoolBytes = PoolBytes });

    /// <summary>Linux's loops of <c>arm_lpae_do_selftests</c>: page-size set × oas × (ias ≤ oas): 3 × 21 rows.</summary>
    public static TheoryData<uint, uint, uint> Configurations()
    {
        var data = new TheoryData<uint, uint, uint>();
        foreach (ulong[] set in PageSizeSets)
            for (int j = 0; j < AddressSizes.Length; j++)
                for (int k = 0; k <= j; k++)   // "Don't use ias > oas as it is not valid for stage-2."
                    data.Add((uint)set[0], AddressSizes[k], AddressSizes[j]);
        return data;
    }

    /// <summary>
    /// <c>arm_lpae_run_tests</c> for one configuration, both formats, every step. The first argument is the
    /// granule, which picks the page-size set.
    /// </summary>
    [Theory]
    [MemberData(nameof(Configurations))]
    public void LinuxSelftestPassesForBothFormats(uint granule, uint ias, uint oas)
    {
        ulong[] sizes = Array.Find(PageSizeSets, set => set[0] == granule)!;
        using SmmuInstance smmu = CreateInstance(ias, oas);
        foreach (int stage in new[] { 1, 2 })
            RunTests(smmu, stage, sizes, ias, oas);
    }

    private static void RunTests(SmmuInstance smmu, int stage, ulong[] sizes, uint ias, uint oas)
    {
        ulong bitmap = 0;
        foreach (ulong size in sizes)
            bitmap |= size;
        var t = new Steps(smmu, $"{(stage == 1 ? "ARM_64_LPAE_S1" : "ARM_64_LPAE_S2")}, pgsize_bitmap 0x{bitmap:x8}, IAS {ias} OAS {oas}");
        ulong pagesBefore = smmu.Stats.PtPagesInUse;

        // alloc_io_pgtable_ops(fmts[i], cfg): a domain of that format and granule.
        t.Ok(smmu.DomainAlloc(out t.Domain), "alloc_io_pgtable_ops: domain");
        t.Ok(smmu.SetGranule(t.Domain, (uint)sizes[0]), "alloc_io_pgtable_ops: granule");
        if (stage == 2)
            t.Ok(smmu.SetStage(t.Domain, 2), "alloc_io_pgtable_ops: stage 2");

        // Initial sanity checks: empty page tables shouldn't provide any translations.
        t.NoTranslation(42, "empty: iova_to_phys(42)");
        t.NoTranslation(OneGiB + 42, "empty: iova_to_phys(SZ_1G + 42)");
        t.NoTranslation(TwoGiB + 42, "empty: iova_to_phys(SZ_2G + 42)");

        // Distinct mappings of different granule sizes, one per GiB.
        const SmmuProt all = SmmuProt.Read | SmmuProt.Write | SmmuProt.NoExec | SmmuProt.Cache;
        ulong iova = 0;
        foreach (ulong size in sizes)
        {
            string at = $"size 0x{size:x} at 0x{iova:x}";
            t.Ok(smmu.Map(t.Domain, iova, iova, size, all), $"distinct mappings: map {at}");

            // Overlapping mappings must fail; Linux's arm_lpae_init_pte / __arm_lpae_map say -EEXIST.
            ulong pages = smmu.Stats.PtPagesInUse;
            t.Fails(SmmuError.Exists, smmu.Map(t.Domain, iova, iova + size, size, SmmuProt.Read | SmmuProt.NoExec),
                $"overlapping mapping over {at}");
            t.Check(smmu.Stats.PtPagesInUse == pages, $"overlapping mapping over {at} changed nothing (model: pages in use)");

            t.Translates(iova + 42, iova + 42, $"distinct mappings: iova_to_phys after {at}");
            iova += OneGiB;
        }

        // Partial unmap (io-pgtable-arm.c's in-file self-test, up to v6.12): unmap the second smallest page of the
        // block at 1 GiB. Linux dropped this step with split-on-unmap (commit 33729a5fc0ca, v6.13: unmap of part of
        // a block now unmaps nothing). The model keeps the older behaviour on purpose — a block only partly inside
        // the range is split into the next level (docs/design.md §2 and §8; smmu.h smmu_unmap) — so the step holds.
        ulong small = sizes[0], block = sizes[1];
        t.Unmaps(OneGiB + small, small, "partial unmap: unmap(SZ_1G + size, size)");
        t.NoTranslation(OneGiB + small + 42, "partial unmap: the page is gone (arm_lpae_range_has_mapping, v5.x)");
        t.Translates(OneGiB + 42, OneGiB + 42, "partial unmap: the block's first page still translates (model)");
        t.Translates(OneGiB + 2 * small + 42, OneGiB + 2 * small + 42, "partial unmap: the next page still translates (model)");
        t.Translates(OneGiB + block - 1, OneGiB + block - 1, "partial unmap: the block's last byte still translates (model)");

        // Remap of partial unmap, to a different PA: the hole is one page of the split table.
        t.Ok(smmu.Map(t.Domain, OneGiB + small, small, small, SmmuProt.Read), "remap of partial unmap: map(SZ_1G + size -> size)");
        t.Translates(OneGiB + small + 42, small + 42, "remap of partial unmap: iova_to_phys(SZ_1G + size + 42)");

        // Full unmap, then remap each full block. At 1 GiB the unmap meets the split table: it removes every page in it
        // (the remapped one included), returns the block's size, and frees the emptied table, so the remap can put a
        // block there again (older Linux freed the table in __arm_lpae_unmap; the model's EEXIST would show a leftover).
        iova = 0;
        foreach (ulong size in sizes)
        {
            string at = $"size 0x{size:x} at 0x{iova:x}";
            t.Unmaps(iova, size, $"full unmap: unmap {at}");
            t.NoTranslation(iova + 42, $"full unmap: iova_to_phys after unmapping {at}");
            t.Ok(smmu.Map(t.Domain, iova, iova, size, SmmuProt.Write), $"remap full block: map {at}");
            t.Translates(iova + 42, iova + 42, $"remap full block: iova_to_phys after {at}");
            iova += OneGiB;
        }

        // Map/unmap the last largest supported page of the IAS: the corner of concatenated stage-2 roots (the top
        // IOVA indexes the last of the root's tables).
        ulong largest = sizes[^1], top = (1UL << (int)ias) - largest;
        string last = $"size 0x{largest:x} at 0x{top:x}";
        t.Ok(smmu.Map(t.Domain, top, top, largest, all), $"last largest page of the IAS: map {last}");
        // Linux: "mapped == size". Map reports no count; the whole page translating is what that count promised.
        t.Translates(top, top, $"last largest page of the IAS: first byte of {last} (mapped == size)");
        t.Translates(top + largest - 1, top + largest - 1, $"last largest page of the IAS: last byte of {last} (mapped == size)");
        t.Unmaps(top, largest, $"last largest page of the IAS: unmap {last}");
        t.NoTranslation(top + 42, $"last largest page of the IAS: gone after unmapping {last} (model)");

        // free_io_pgtable_ops: every table goes back, the remapped blocks' included.
        t.Ok(smmu.DomainFree(t.Domain), "free_io_pgtable_ops: domain free");
        t.Check(smmu.Stats.PtPagesInUse == pagesBefore, $"free_io_pgtable_ops: pages in use {smmu.Stats.PtPagesInUse}, before {pagesBefore} (model)");
    }

    /// <summary>
    /// One format's run: assertions whose message names the case and the step, as the Linux test's
    /// <c>__FAIL</c> names the format index (the Linux test stops at the first; an assertion does too).
    /// </summary>
    private sealed class Steps(SmmuInstance smmu, string label)
    {
        public DomainHandle Domain;

        public void Check(bool condition, string step) => Assert.True(condition, $"{label}: {step}");

        public void Ok(int rc, string step) =>
            Assert.True(rc == SmmuError.Ok, $"{label}: {step}: expected 0, got {rc} ({SmmuError.Describe(rc)})");

        public void Fails(int expected, int rc, string step) =>
            Assert.True(rc == expected, $"{label}: {step}: expected {expected} ({SmmuError.Describe(expected)}), got {rc} ({SmmuError.Describe(rc)})");

        /// <summary><c>unmap_pages(...) != size</c> fails the Linux test: the bytes unmapped must be the size asked.</summary>
        public void Unmaps(ulong iova, ulong size, string step)
        {
            long unmapped = smmu.Unmap(Domain, iova, size);
            Assert.True(unmapped == (long)size,
                $"{label}: {step}: expected 0x{size:x} bytes unmapped, got {(unmapped < 0 ? $"{unmapped} ({SmmuError.Describe((int)unmapped)})" : $"0x{unmapped:x}")}");
        }

        /// <summary><c>iova_to_phys(iova) != pa</c> fails the Linux test.</summary>
        public void Translates(ulong iova, ulong pa, string step)
        {
            int rc = smmu.IovaToPhys(Domain, iova, out ulong got);
            Assert.True(rc == SmmuError.Ok && got == pa,
                $"{label}: {step}: iova_to_phys(0x{iova:x}) expected 0x{pa:x}, got {(rc == SmmuError.Ok ? $"0x{got:x}" : $"{rc} ({SmmuError.Describe(rc)})")}");
        }

        /// <summary><c>iova_to_phys(iova) != 0</c> fails the Linux test; the model says NoEntry.</summary>
        public void NoTranslation(ulong iova, string step)
        {
            int rc = smmu.IovaToPhys(Domain, iova, out ulong got);
            Assert.True(rc == SmmuError.NoEntry,
                $"{label}: {step}: iova_to_phys(0x{iova:x}) expected NoEntry, got {(rc == SmmuError.Ok ? $"0x{got:x}" : $"{rc} ({SmmuError.Describe(rc)})")}");
        }
    }
}
