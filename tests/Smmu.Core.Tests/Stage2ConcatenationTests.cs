using Smmu.Core;
using static Smmu.Core.Tests.TestSmmu;

namespace Smmu.Core.Tests;

/// <summary>
/// The stage-2 root's start level and number of concatenated tables, checked against Linux v6.14+'s
/// <c>arm_64_lpae_alloc_pgtable_s2</c> with <c>arm_lpae_concat_mandatory</c> for every granule and every
/// (ias, oas) of the self-test's address sizes. The expectation is derived here from the rule's text, not
/// from the model's <c>TableFormat</c>; what is compared is observable from outside the page-table code:
/// the pages the root takes from the pool, the root's address (VTTBR) and alignment, the descriptors a
/// top-of-IPA mapping writes (read back with <see cref="SmmuInstance.PhysRead64"/> at the slots the expected
/// shape predicts), and the descriptors a hardware walk reads (<see cref="SmmuStats.DescriptorReads"/>).
/// </summary>
public class Stage2ConcatenationTests
{
    private const int FrameShift = 12;                 // the pool counts 4 KiB pages
    private const ulong DescriptorSize = 8;
    private const ulong OutputPa = 1UL << 30;          // below 2^32 and outside the pinned pool; aligned to every granule
    private const ulong AddressBits47 = (1UL << 48) - 1;

    /// <summary>What Linux makes of a stage-2 configuration: refused, or a start level and a root of <c>Tables</c> granules.</summary>
    internal readonly record struct Stage2Root(bool Refused, int StartLevel, int Tables, int RootIndexBits);

    /// <summary>
    /// The expected stage-2 root, from the rules as Linux writes them:
    /// <code>
    /// arm_lpae_alloc_pgtable:  va_bits = ias - pg_shift; levels = DIV_ROUND_UP(va_bits, bits_per_level);
    ///                          start_level = 4 - levels; pgd_bits = va_bits - bits_per_level * (levels - 1)
    /// arm_lpae_concat_mandatory (Arm DDI0487 K.a):
    ///   1) R_DXBSH: 16K granule, 48-bit input size: level 1 instead of 0
    ///   2) R_SRKBC: a) 40-bit PA, 4K: level 1 instead of 0    b) 40-bit PA, 16K: level 2 instead of 1
    ///               c) 42-bit PA, 4K: level 1 instead of 0    d) 48-bit PA, 16K: level 1 instead of 0
    /// arm_64_lpae_alloc_pgtable_s2: if mandatory: refuse when the root has more than
    ///   ARM_LPAE_S2_MAX_CONCAT_PAGES (16) entries; else pgd_bits += bits_per_level, start_level++
    /// </code>
    /// The root is then 2^pgd_bits descriptors, at least one granule: 2^(pgd_bits − bits_per_level) tables.
    /// </summary>
    internal static Stage2Root ExpectedRoot(int granule, int ias, int oas)
    {
        int pageShift = granule switch { 4096 => 12, 16384 => 14, 65536 => 16, _ => throw new ArgumentOutOfRangeException(nameof(granule)) };
        int bitsPerLevel = pageShift - 3;
        int vaBits = ias - pageShift;
        int levels = (vaBits + bitsPerLevel - 1) / bitsPerLevel;
        int start = 4 - levels;
        int pgdBits = vaBits - bitsPerLevel * (levels - 1);

        bool rDxbsh = granule == 16384 && ias == 48 && start == 0;                   // rule 1
        bool rSrkbc = (granule, oas, start) is (4096, 40, 0) or (16384, 40, 1)     // rules 2a, 2b
                                            or (4096, 42, 0) or (16384, 48, 0);    // rules 2c, 2d
        if (rDxbsh || rSrkbc)
        {
            if (1 << pgdBits > 16)
                return new Stage2Root(Refused: true, 0, 0, 0);
            pgdBits += bitsPerLevel;
            start++;
        }
        int tables = pgdBits > bitsPerLevel ? 1 << (pgdBits - bitsPerLevel) : 1;
        return new Stage2Root(Refused: false, start, tables, pgdBits);
    }

    /// <summary>
    /// Every granule × every (ias, oas) of {32, 36, 40, 42, 44, 48}: 3 × 36 rows. The self-test's ias ≤ oas
    /// pairs (63 rows) never need more than 16 tables; the ias &gt; oas rows add the combinations Linux refuses.
    /// </summary>
    public static TheoryData<int, uint, uint> Configurations()
    {
        var data = new TheoryData<int, uint, uint>();
        foreach (int granule in new[] { 4096, 16384, 65536 })
            foreach (uint oas in IoPgtableArmSelftestTests.AddressSizes)
                foreach (uint ias in IoPgtableArmSelftestTests.AddressSizes)
                    data.Add(granule, ias, oas);
        return data;
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Stage2RootIsConcatenatedExactlyWhereLinuxSaysItIsMandatory(int granule, uint ias, uint oas) =>
        AssertStage2Root(granule, ias, oas, ExpectedRoot(granule, (int)ias, (int)oas));

    /// <summary>
    /// The cases Linux's comment spells out ("2 tables for ias = oas", …), and a few neighbours, with the
    /// numbers written down by hand: a check on <see cref="ExpectedRoot"/> as much as on the model.
    /// </summary>
    [Theory]
    [InlineData(4096, 40u, 40u, 1, 2)]     // 2a: 40-bit PA with 4K: level 1, 2 tables
    [InlineData(4096, 42u, 42u, 1, 8)]     // 2c: 42-bit PA with 4K: level 1, 8 tables
    [InlineData(16384, 40u, 40u, 2, 16)]   // 2b: 40-bit PA with 16K: level 2, 16 tables
    [InlineData(16384, 48u, 48u, 1, 2)]    // 1 and 2d: 16K with 48 bits: level 1, 2 tables
    [InlineData(16384, 48u, 40u, 1, 2)]    // 1 alone (ias 48, PA 40)
    [InlineData(4096, 40u, 44u, 0, 1)]     // a 44-bit PA: level 0 stays allowed, nothing concatenated
    [InlineData(4096, 48u, 48u, 0, 1)]
    [InlineData(4096, 36u, 40u, 1, 1)]     // starts at level 1 anyway: 2a does not apply
    [InlineData(16384, 44u, 48u, 1, 1)]    // starts at level 1: 2d is about level 0
    [InlineData(16384, 36u, 40u, 2, 1)]
    [InlineData(65536, 48u, 48u, 1, 1)]    // 64K is never concatenated
    [InlineData(65536, 32u, 32u, 2, 1)]
    public void Stage2RootMatchesTheCasesLinuxSpellsOut(int granule, uint ias, uint oas, int startLevel, int tables)
    {
        Stage2Root expected = ExpectedRoot(granule, (int)ias, (int)oas);
        Assert.Equal((false, startLevel, tables), (expected.Refused, expected.StartLevel, expected.Tables));
        AssertStage2Root(granule, ias, oas, expected);
    }

    /// <summary>Linux refuses these (more than 16 tables would be needed); so does STAGE = 2.</summary>
    [Theory]
    [InlineData(4096, 48u, 40u)]    // 512 tables (smmu.h's example)
    [InlineData(4096, 44u, 42u)]    // 32
    [InlineData(16384, 44u, 40u)]   // 256
    [InlineData(16384, 42u, 40u)]   // 64
    public void Stage2ThatWouldNeedMoreThan16TablesIsRefused(int granule, uint ias, uint oas)
    {
        Assert.True(ExpectedRoot(granule, (int)ias, (int)oas).Refused);
        AssertStage2Root(granule, ias, oas, ExpectedRoot(granule, (int)ias, (int)oas));
    }

    private static void AssertStage2Root(int granule, uint ias, uint oas, Stage2Root expected)
    {
        string label = $"granule {granule / 1024}K, IAS {ias} OAS {oas}";
        using SmmuInstance smmu = IoPgtableArmSelftestTests.CreateInstance(ias, oas);
        ulong pagesBefore = smmu.Stats.PtPagesInUse;
        Ok(smmu.DomainAlloc(out DomainHandle d));
        Ok(smmu.SetGranule(d, (uint)granule));
        ulong framesPerGranule = (ulong)granule >> FrameShift;

        int rc = smmu.SetStage(d, 2);
        if (expected.Refused)
        {
            Assert.True(rc == SmmuError.Invalid, $"{label}: STAGE 2 expected Invalid (Linux refuses: > 16 tables), got {rc} ({SmmuError.Describe(rc)})");
            Assert.True(smmu.Stats.PtPagesInUse - pagesBefore == framesPerGranule, $"{label}: a refused STAGE 2 keeps the stage-1 root");
            return;
        }
        Assert.True(rc == SmmuError.Ok, $"{label}: STAGE 2 expected Ok, got {rc} ({SmmuError.Describe(rc)})");

        // The root's size: all its concatenated tables, from the pool.
        ulong rootFrames = smmu.Stats.PtPagesInUse - pagesBefore;
        Assert.True(rootFrames == (ulong)expected.Tables * framesPerGranule,
            $"{label}: root takes {rootFrames} pages, expected {expected.Tables} table(s) of {framesPerGranule}");

        // Its address, from VTTBR, aligned to its whole size (the architecture's rule for a concatenated root).
        Ok(smmu.AttachDevice(d, Sid));
        Ok(smmu.GetVttbr(d, out ulong vttbr));
        ulong root = vttbr & AddressBits47;
        ulong rootBytes = (ulong)expected.Tables * (ulong)granule;
        Assert.True(root % rootBytes == 0, $"{label}: root 0x{root:x} not aligned to its 0x{rootBytes:x} bytes");
        Assert.True(smmu.PoolForTests.LevelOfPage(root) == expected.StartLevel,
            $"{label}: the pool says the root is a level {smmu.PoolForTests.LevelOfPage(root)} table, expected {expected.StartLevel}");

        // Map the last granule of the IPA space: its root slot is the root's last, in the last concatenated table.
        // Follow the expected shape down from the root: a table descriptor at each level, the page at level 3.
        ulong ipa = (1UL << (int)ias) - (ulong)granule;
        Ok(smmu.Map(d, ipa, OutputPa, (ulong)granule, ReadWrite));
        int pageShift = System.Numerics.BitOperations.Log2((uint)granule), bitsPerLevel = pageShift - 3;
        ulong addressMask = AddressBits47 & ~((ulong)granule - 1);
        ulong table = root;
        for (int level = expected.StartLevel; level <= 3; level++)
        {
            int indexBits = level == expected.StartLevel ? expected.RootIndexBits : bitsPerLevel;
            ulong index = (ipa >> (pageShift + bitsPerLevel * (3 - level))) & ((1UL << indexBits) - 1);
            if (level == expected.StartLevel)
                Assert.True(index == (1UL << indexBits) - 1, $"{label}: the top IPA's root index {index} is not the root's last");
            Ok(smmu.PhysRead64(table + index * DescriptorSize, out ulong pte));
            Assert.True((pte & 0b11) == 0b11,
                $"{label}: level {level} descriptor [{index}] at 0x{table + index * DescriptorSize:x} is 0x{pte:x}, expected a {(level < 3 ? "table" : "page")}");
            table = pte & addressMask;
        }
        Assert.True(table == OutputPa, $"{label}: the page descriptor's output is 0x{table:x}, expected 0x{OutputPa:x}");

        // The walk the bank does agrees: one stage-2 walk, one descriptor per level from the start level.
        Ok(smmu.ResetStats());
        Ok(smmu.Translate(Sid, ipa + 42, SmmuAccess.Read, out ulong pa));
        Assert.True(pa == OutputPa + 42, $"{label}: translate(0x{ipa + 42:x}) = 0x{pa:x}");
        SmmuStats stats = smmu.Stats;
        Assert.True(stats.Stage2Walks == 1 && stats.DescriptorReads == (ulong)(4 - expected.StartLevel),
            $"{label}: {stats.Stage2Walks} stage-2 walk(s) reading {stats.DescriptorReads} descriptors, expected 1 reading {4 - expected.StartLevel}");
    }
}
