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
            Assert.True(pool.TryAllocate(0, 2, out ulong pa));
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
        Assert.True(pool.TryAllocate(0, 1, out ulong pa));
        for (int i = 0; i < 512; i++)
            pool.Word(pa + (ulong)i * 8) = 0xDEAD_BEEF_0000_0000 | (uint)i;
        pool.ValidCount(pa) = 17;
        pool.ZeroAndFree(pa);   // a table that still holds descriptors (a freed domain's) is zeroed on the way back

        Assert.True(pool.TryAllocate(0, 3, out ulong again));
        Assert.Equal(pa, again);
        for (int i = 0; i < 512; i++)
            Assert.Equal(0UL, pool.Word(again + (ulong)i * 8));
        Assert.Equal(0, pool.ValidCount(again));
        Assert.Equal(3, pool.LevelOfPage(again));
    }

    /// <summary>Allocation does not clear pages: it relies on every free page being zero. Check that after real use.</summary>
    [Fact]
    public void FreePagesStayAllZeroThroughMapsUnmapsSplitsAndDomainFrees()
    {
        using var smmu = TestSmmu.Create(c => c with { PtPoolBytes = 256 * PageSize });
        DomainHandle a = smmu.AttachBase(), b = smmu.Alloc();
        TestSmmu.Ok(smmu.Map(a, 0x4000_0000, 0x8000_0000, 0x40_0000, TestSmmu.ReadWrite));        // two 2 MiB blocks
        TestSmmu.Ok(smmu.Map(a, 0x8000_0000, 0x1_0000_0000, 0x4_0000, TestSmmu.ReadWrite));       // 64 pages
        TestSmmu.Ok(smmu.Map(b, 0x1_0000_0000, 0x1_0000_0000, 0x4000_0000, TestSmmu.ReadWrite));  // a 1 GiB block
        TestSmmu.Ok(smmu.Unmap(a, 0x4000_1000, 0x1000));                                          // split a block
        TestSmmu.Ok(smmu.Unmap(a, 0x8000_0000, 0x4_0000));                                        // empties a table
        TestSmmu.Ok(smmu.Unmap(b, 0x1_0020_0000, 0x1000));                                        // split 1 GiB, then 2 MiB
        Fails(SmmuError.Exists, smmu.Map(a, 0x4000_0000, 0x8000_0000, 0x1000, TestSmmu.ReadWrite)); // a failed map rolls back
        TestSmmu.Ok(smmu.DomainFree(b));                                                          // frees tables that hold leaves
        PagePool pool = smmu.PoolForTests;
        int freePages = 0;
        for (ulong page = pool.Base; page < pool.Base + pool.Bytes; page += PageSize)
        {
            if (pool.LevelOfPage(page) >= 0)
                continue;
            freePages++;
            for (ulong offset = 0; offset < PageSize; offset += 8)
                Assert.True(pool.Word(page + offset) == 0, $"free page 0x{page:x} holds 0x{pool.Word(page + offset):x} at +0x{offset:x}");
        }
        Assert.Equal(pool.FreePages, freePages);
    }

    [Fact]
    public void AFreedPageIsReusedBeforeUntouchedPages()
    {
        using var pool = new PagePool(PoolBase, 8 * PageSize);
        var pages = new ulong[4];
        for (int i = 0; i < pages.Length; i++)
            Assert.True(pool.TryAllocate(0, 0, out pages[i]));
        pool.Free(pages[1]);
        Assert.True(pool.TryAllocate(0, 0, out ulong reused));
        Assert.Equal(pages[1], reused);
        Assert.True(pool.TryAllocate(0, 0, out ulong next));
        Assert.Equal(PoolBase + 4 * PageSize, next);   // then the untouched pages, in order
    }

    [Fact]
    public void CountsFollowAllocateAndFreeAndAnEmptyPoolRefuses()
    {
        using var pool = new PagePool(PoolBase, 3 * PageSize);
        Assert.Equal((0, 3), (pool.PagesInUse, pool.FreePages));
        Assert.True(pool.TryAllocate(0, 0, out ulong a));
        Assert.True(pool.TryAllocate(0, 1, out ulong b));
        Assert.True(pool.TryAllocate(0, 2, out ulong c));
        Assert.Equal((3, 0), (pool.PagesInUse, pool.FreePages));

        Assert.False(pool.TryAllocate(0, 0, out ulong none));
        Assert.Equal(0UL, none);
        Assert.Equal((3, 0), (pool.PagesInUse, pool.FreePages));

        pool.Free(b);
        Assert.Equal((2, 1), (pool.PagesInUse, pool.FreePages));
        Assert.Equal(-1, pool.LevelOfPage(b));
        Assert.Equal(0, pool.LevelOfPage(a));
        Assert.Equal(2, pool.LevelOfPage(c + 8));   // any address inside the page
        Assert.True(pool.TryAllocate(0, 1, out ulong again));
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
