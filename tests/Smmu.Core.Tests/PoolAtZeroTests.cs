using static Smmu.Core.Tests.TestSmmu;

namespace Smmu.Core.Tests;

/// <summary>
/// A table page at physical address 0 is an ordinary table page: <c>pt_pool_base = 0</c> is a valid
/// configuration, and the first domain's root then sits at PA 0. Nothing in the model may take table
/// address 0 to mean "no table" (it once did, in the unmap dry run, which corrupted the tables).
/// </summary>
public class PoolAtZeroTests
{
    private static SmmuInstance PoolAtZero(uint ias = 39, ulong pages = 16) =>
        Create(c => c with { Ias = ias, PtPoolBase = 0, PtPoolBytes = pages * 0x1000 });

    [Fact]
    public void UnmappingOnePageOfTwoUnderARootAtPaZeroKeepsTheOtherAndItsTables()
    {
        using var smmu = PoolAtZero();
        Ok(smmu.DomainAlloc(out DomainHandle d));
        Ok(smmu.Map(d, 0, 0x8000_0000, 0x2000, ReadWrite));
        ulong inUse = smmu.Stats.PtPagesInUse;   // root (at PA 0), level 2, level 3
        Assert.Equal(3UL, inUse);

        Assert.Equal(0x1000L, smmu.Unmap(d, 0x1000, 0x1000));

        Assert.Equal(inUse, smmu.Stats.PtPagesInUse);
        Ok(smmu.IovaToPhys(d, 0, out ulong pa));
        Assert.Equal(0x8000_0000UL, pa);
        Fails(SmmuError.NoEntry, smmu.IovaToPhys(d, 0x1000, out _));
        Fails(SmmuError.NoEntry, smmu.IovaToPhys(d, 0x5000, out _));
    }

    [Fact]
    public void SplittingABlockUnderARootAtPaZeroMapsExactlyTheRestOfTheBlock()
    {
        using var smmu = PoolAtZero();
        Ok(smmu.DomainAlloc(out DomainHandle d));
        const ulong Block = 0x20_0000, Pa = 0x4000_0000;
        Ok(smmu.Map(d, Block, Pa, Block, ReadWrite));   // a 2 MiB block: root + level 2
        Assert.Equal(2UL, smmu.Stats.PtPagesInUse);

        Assert.Equal(0x1000L, smmu.Unmap(d, Block + 0x1000, 0x1000));   // split: one level-3 page more

        Assert.Equal(3UL, smmu.Stats.PtPagesInUse);
        for (ulong offset = 0; offset < Block; offset += 0x1000)
        {
            if (offset == 0x1000)
                Fails(SmmuError.NoEntry, smmu.IovaToPhys(d, Block + offset, out _));
            else
                Assert.Equal(Pa + offset, Translated(smmu, d, Block + offset));
        }
        Fails(SmmuError.NoEntry, smmu.IovaToPhys(d, 2 * Block, out _));   // nothing past the block
        Fails(SmmuError.NoEntry, smmu.IovaToPhys(d, 0, out _));
    }

    [Fact]
    public void ManyMapsAndUnmapsUnderARootAtPaZeroKeepThePoolAccounted()
    {
        using var smmu = PoolAtZero(ias: 48, pages: 64);
        Ok(smmu.DomainAlloc(out DomainHandle d));
        var rng = new Random(7);
        var mapped = new Dictionary<ulong, ulong>();
        for (int step = 0; step < 4000; step++)
        {
            ulong page = (ulong)rng.Next(2048) * 0x1000;
            if (mapped.ContainsKey(page))
            {
                Assert.Equal(0x1000L, smmu.Unmap(d, page, 0x1000));
                mapped.Remove(page);
            }
            else
            {
                int rc = smmu.Map(d, page, 0x1_0000_0000 + page, 0x1000, ReadWrite);
                if (rc == SmmuError.Ok)
                    mapped[page] = 0x1_0000_0000 + page;
                else
                    Fails(SmmuError.NoMemory, rc);
            }
            SmmuStats stats = smmu.Stats;
            Assert.Equal(64UL, stats.PtPagesInUse + stats.PtPagesFree);
        }
        foreach (var (page, pa) in mapped)
            Assert.Equal(pa, Translated(smmu, d, page));
        Assert.Equal(mapped.Count * 0x1000L, smmu.Unmap(d, 0, 1UL << 30));
        Assert.Equal(1UL, smmu.Stats.PtPagesInUse);   // the root alone
    }

    private static ulong Translated(SmmuInstance smmu, DomainHandle d, ulong iova)
    {
        Ok(smmu.IovaToPhys(d, iova, out ulong pa));
        return pa;
    }
}
