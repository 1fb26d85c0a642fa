using static Smmu.Core.Tests.TestSmmu;

namespace Smmu.Core.Tests;

/// <summary>
/// The miss paths of a stage-1 bank with the 4 KiB granule: the batch's (a streak of misses walked and filled in
/// one loop, the next input probed and its tables descended before this one's walk ends) against single
/// translations over the same random stream, on two instances with the same mappings — every PA, every fault and
/// every counter must agree; and both against counts written out by hand. The stream mixes what the streak must
/// stop at or see through: pages and 2 MiB blocks (a fill that adds a size class), the same page twice in a
/// row (the fill just made the next one a hit), read-only pages under a write (the walk's leaf denies),
/// holes (a translation fault), addresses in the disabled upper half (a level-0 fault before any read), and a
/// working set larger than the TLB (evictions). Streams without blocks keep the TLB at pages only, where the default
/// geometry's misses take the page-only loop (Tlb.RunPageMissesOneGroup), which must hand every other walk on.
/// </summary>
public class MissPathTests
{
    private const ulong Page = 0x1000, Block = 0x20_0000;
    private const ulong Pages = Iova, Blocks = Iova + 0x4000_0000, ReadOnly = Iova + 0x8000_0000;
    private const int PageCount = 3000, BlockCount = 4, ReadOnlyCount = 16;

    public static TheoryData<SimdWidth, uint, int, bool> Cases => new()
    {
        { SimdWidth.Vector256, 8, 1, true },    // the default geometry: one group of ways, the specialized hit loop
        { SimdWidth.Vector512, 8, 2, true },
        { SimdWidth.Scalar, 8, 3, true },
        { SimdWidth.Vector128, 4, 4, true },    // fewer ways than a group
        { SimdWidth.Vector256, 16, 5, true },   // two groups a set
        { SimdWidth.Vector256, 8, 6, false },   // pages only: the page-only miss loop
        { SimdWidth.Vector512, 8, 7, false },
        { SimdWidth.Scalar, 8, 8, false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ABatchTranslatesFaultsAndCountsAsSingleTranslationsDo(SimdWidth width, uint ways, int seed, bool blocks)
    {
        using SmmuInstance batch = Create(c => c with { TlbWays = ways }, width);
        using SmmuInstance single = Create(c => c with { TlbWays = ways }, width);
        MapLayout(batch);
        MapLayout(single);
        var random = new Random(seed);
        foreach (SmmuAccess access in new[] { SmmuAccess.Read, SmmuAccess.Write, SmmuAccess.Read })
        {
            ulong[] inputs = Stream(random, 4000, blocks);
            var batchPas = new ulong[inputs.Length];
            var batchCodes = new int[inputs.Length];
            for (int start = 0; start < inputs.Length;)
            {
                int rc = batch.TranslateBatch(Sid, inputs.AsSpan(start), batchPas.AsSpan(start), access, out int done);
                start += done;
                if (rc != SmmuError.Ok)
                    batchCodes[start++] = rc;   // the batch stops at a failed translation; go on after it
            }
            for (int i = 0; i < inputs.Length; i++)
            {
                int rc = single.Translate(Sid, inputs[i], access, out ulong pa);
                Assert.True(rc == batchCodes[i], $"input {i} (0x{inputs[i]:x}, {access}): single {rc}, batch {batchCodes[i]}");
                if (rc == SmmuError.Ok)
                    Assert.True(pa == batchPas[i], $"input {i} (0x{inputs[i]:x}): single 0x{pa:x}, batch 0x{batchPas[i]:x}");
            }
            SmmuStats b = batch.Stats, s = single.Stats;
            Assert.Equal(s.Translations, b.Translations);
            Assert.Equal(s.TlbHits, b.TlbHits);
            Assert.Equal(s.TlbMisses, b.TlbMisses);
            Assert.Equal(s.Walks, b.Walks);
            Assert.Equal(s.DescriptorReads, b.DescriptorReads);
            Assert.Equal(s.Faults, b.Faults);
            Assert.True(b.TlbMisses > 100 && b.TlbHits > 100 && b.Faults > 10, $"the stream must mix: {b.TlbHits} hits, {b.TlbMisses} misses, {b.Faults} faults");
        }
    }

    [Fact]
    public void TheNextInputInTheLeafJustFilledHits()
    {
        using SmmuInstance smmu = Create();
        DomainHandle d = smmu.AttachBase();
        Ok(smmu.Map(d, Pages, Pa, 4 * Page, ReadWrite));
        Ok(smmu.Map(d, Blocks, Pa + Block, Block, ReadWrite));
        ulong[] inputs = [Pages, Pages + 8, Pages + Page, Pages + Page + 0xff8, Blocks + 0x1234, Blocks + 0x1f_f000, Pages + 2 * Page];
        var pas = new ulong[inputs.Length];
        Ok(smmu.TranslateBatch(Sid, inputs, pas, SmmuAccess.Read, out int done));
        Assert.Equal(inputs.Length, done);
        Assert.Equal([Pa, Pa + 8, Pa + Page, Pa + Page + 0xff8, Pa + Block + 0x1234, Pa + Block + 0x1f_f000, Pa + 2 * Page], pas);
        Assert.Equal(4ul, smmu.Stats.TlbMisses);   // three pages and the block, each walked once
        Assert.Equal(3ul, smmu.Stats.TlbHits);
        Assert.Equal(3ul * 4 + 3, smmu.Stats.DescriptorReads);   // three 4-level walks, and one that ends at level 2
    }

    [Fact]
    public void ASingleMissWalksFillsAndCountsOnce()
    {
        using SmmuInstance smmu = Create();
        DomainHandle d = smmu.AttachBase();
        Ok(smmu.Map(d, Pages, Pa, Page, SmmuProt.Read));
        Ok(smmu.Map(d, Blocks, Pa + Block, Block, ReadWrite));
        Assert.Equal(Pa + 0x10, smmu.TranslateOk(Pages + 0x10));
        Assert.Equal(Pa + 0x20, smmu.TranslateOk(Pages + 0x20));                  // a hit on the entry the miss filled
        Assert.Equal(Pa + Block + 0x12_3450, smmu.TranslateOk(Blocks + 0x12_3450));
        Fails(SmmuError.Fault, smmu.Translate(Sid, Pages, SmmuAccess.Write, out _));   // the cached read-only page denies: no walk
        Fails(SmmuError.Fault, smmu.Translate(Sid, Pages + 7 * Page, SmmuAccess.Read, out _));   // a hole: walked, faults
        SmmuStats s = smmu.Stats;
        Assert.Equal(5ul, s.Translations);
        Assert.Equal(2ul, s.TlbHits);
        Assert.Equal(3ul, s.TlbMisses);
        Assert.Equal(3ul, s.Walks);
        Assert.Equal(4ul + 3 + 4, s.DescriptorReads);   // the page (4 levels), the block (ends at level 2), the hole (level 3 invalid)
        Assert.Equal(2ul, s.Faults);
    }

    private static void MapLayout(SmmuInstance smmu)
    {
        DomainHandle d = smmu.AttachBase();
        // Pages in runs with a hole after every 64th, so some inputs fall into holes.
        for (int run = 0; run < PageCount / 64; run++)
            Ok(smmu.Map(d, Pages + (ulong)run * 65 * Page, Pa + (ulong)run * 65 * Page, 64 * Page, ReadWrite));
        Ok(smmu.Map(d, Blocks, Pa + 0x4000_0000, BlockCount * Block, ReadWrite));
        Ok(smmu.Map(d, ReadOnly, Pa + 0x8000_0000, ReadOnlyCount * Page, SmmuProt.Read));
    }

    private static ulong[] Stream(Random random, int count, bool blocks)
    {
        var inputs = new ulong[count];
        ulong previous = Pages;
        for (int i = 0; i < count; i++)
        {
            int kind = random.Next(100);
            ulong offset = (ulong)random.Next(0x1000) & ~7UL;
            inputs[i] = previous = kind switch
            {
                < 55 => Pages + (ulong)random.Next(PageCount / 64 * 65) * Page + offset,   // a page, or now and then a hole
                < 70 => previous + 8,                                                      // the next word: often the same page
                < 82 when blocks => Blocks + (ulong)random.NextInt64(BlockCount * (long)Block) & ~7UL,
                < 82 => Pages + (ulong)random.Next(PageCount / 64 * 65) * Page + offset,
                < 96 => ReadOnly + (ulong)random.Next(ReadOnlyCount) * Page + offset,
                < 98 => 0xffff_8000_0000_0000 + offset,                                   // the upper half: not split, disabled
                _ => Pages + 0x2000_0000 + offset,                                         // nothing mapped
            };
        }
        return inputs;
    }
}
