using Smmu.Core;
using Smmu.Core.Memory;
using static Smmu.Core.Tests.TestSmmu;

namespace Smmu.Core.Tests;

/// <summary>The simulated physical memory that holds the tables: allocation order, zeroing, reuse, counts.</summary>
public class PagePoolTests
{
    private const ulong PoolBase = 0x8000_0000, PageSize = 4096;

    [Fact]
    public void AFreshPoolHandsOutPagesLowestAddressFirst()
    {
        using var pool = new PagePool(PoolBase, 8 * PageSize);
        Assert.Equal(8, pool.PageCount);
        for (ulong i = 0; i < 8; i++)
        {
            Assert.True(pool.TryAllocate(2, out ulong pa));
            Assert.Equal(PoolBase + i * PageSize, pa);
        }
    }

    [Fact]
    public void AnInstancesFirstRootIsTheFirstPageOfThePool()
    {
        using var smmu = Create(c => c with { PtPoolBase = 0x2_0000_0000 });
        DomainHandle first = smmu.AttachBase(0), second = smmu.AttachBase(1);
        Assert.Equal(0x2_0000_0000UL, Tables.Root(smmu, first));
        Assert.Equal(0x2_0000_1000UL, Tables.Root(smmu, second));
    }

    [Fact]
    public void AllocatedPagesAreZeroedEvenWhenTheyHeldATableBefore()
    {
        using var pool = new PagePool(PoolBase, 4 * PageSize);
        Assert.True(pool.TryAllocate(1, out ulong pa));
        for (int i = 0; i < 512; i++)
            pool.Word(pa + (ulong)i * 8) = 0xDEAD_BEEF_0000_0000 | (uint)i;
        pool.ValidCount(pa) = 17;
        pool.Free(pa);

        Assert.True(pool.TryAllocate(3, out ulong again));
        Assert.Equal(pa, again);
        for (int i = 0; i < 512; i++)
            Assert.Equal(0UL, pool.Word(again + (ulong)i * 8));
        Assert.Equal(0, pool.ValidCount(again));
        Assert.Equal(3, pool.LevelOfPage(again));
    }

    [Fact]
    public void AFreedPageIsReusedBeforeUntouchedPages()
    {
        using var pool = new PagePool(PoolBase, 8 * PageSize);
        var pages = new ulong[4];
        for (int i = 0; i < pages.Length; i++)
            Assert.True(pool.TryAllocate(0, out pages[i]));
        pool.Free(pages[1]);
        Assert.True(pool.TryAllocate(0, out ulong reused));
        Assert.Equal(pages[1], reused);
        Assert.True(pool.TryAllocate(0, out ulong next));
        Assert.Equal(PoolBase + 4 * PageSize, next);   // then the untouched pages, in order
    }

    [Fact]
    public void CountsFollowAllocateAndFreeAndAnEmptyPoolRefuses()
    {
        using var pool = new PagePool(PoolBase, 3 * PageSize);
        Assert.Equal((0, 3), (pool.PagesInUse, pool.FreePages));
        Assert.True(pool.TryAllocate(0, out ulong a));
        Assert.True(pool.TryAllocate(1, out ulong b));
        Assert.True(pool.TryAllocate(2, out ulong c));
        Assert.Equal((3, 0), (pool.PagesInUse, pool.FreePages));

        Assert.False(pool.TryAllocate(0, out ulong none));
        Assert.Equal(0UL, none);
        Assert.Equal((3, 0), (pool.PagesInUse, pool.FreePages));

        pool.Free(b);
        Assert.Equal((2, 1), (pool.PagesInUse, pool.FreePages));
        Assert.Equal(-1, pool.LevelOfPage(b));
        Assert.Equal(0, pool.LevelOfPage(a));
        Assert.Equal(2, pool.LevelOfPage(c + 8));   // any address inside the page
        Assert.True(pool.TryAllocate(1, out ulong again));
        Assert.Equal(b, again);
    }

    [Fact]
    public void ContainsCoversExactlyTheEightByteWordsOfThePool()
    {
        using var pool = new PagePool(PoolBase, 2 * PageSize);
        Assert.Equal(PoolBase, pool.Base);
        Assert.Equal(2 * PageSize, pool.Bytes);
        Assert.True(pool.Contains(PoolBase));
        Assert.True(pool.Contains(PoolBase + 2 * PageSize - 8));
        Assert.False(pool.Contains(PoolBase + 2 * PageSize - 4));   // would straddle the end
        Assert.False(pool.Contains(PoolBase + 2 * PageSize));
        Assert.False(pool.Contains(PoolBase - 8));
        Assert.False(pool.Contains(0));
        Assert.False(pool.Contains(ulong.MaxValue - 7));
    }

    [Fact]
    public void TheInstancesStatsReportThePoolsCounts()
    {
        using var smmu = Create(c => c with { PtPoolBytes = 10 * PageSize });
        DomainHandle d = smmu.Alloc();
        Ok(smmu.Map(d, 0x20_0000, 0, PageSize, SmmuProt.Read));
        SmmuStats stats = smmu.Stats;
        Assert.Equal((ulong)smmu.PoolForTests.PagesInUse, stats.PtPagesInUse);
        Assert.Equal((ulong)smmu.PoolForTests.FreePages, stats.PtPagesFree);
        Assert.Equal(4UL, stats.PtPagesInUse);
        Assert.Equal(6UL, stats.PtPagesFree);
    }
}
