using static Smmu.Core.Tests.TestSmmu;

namespace Smmu.Core.Tests;

/// <summary>
/// Deferred TLB maintenance (issue 12): unmap_pages into a gather keeps the TLB's cached translations and the
/// emptied tables until iotlb_sync; the gather follows iommu_iotlb_gather_add_page's rules; map_pages maps at
/// the page size's level with full rollback; lazy mode queues syncs until one invalidate-all; a gather still
/// pending at detach or free is a missed sync, done then.
/// </summary>
public class DeferredMaintenanceTests
{
    private const ulong Page = 0x1000;

    private static (SmmuInstance Smmu, DomainHandle Domain) Attached(SmmuConfigFlags flags = SmmuConfigFlags.None, uint flushQueue = 256)
    {
        SmmuInstance smmu = Create(c => c with { Flags = flags, FlushQueueSize = flushQueue });
        return (smmu, smmu.AttachBase());
    }

    [Fact]
    public void GatheredUnmapKeepsCachedTranslationsUntilTheSync()
    {
        var (smmu, d) = Attached();
        using (smmu)
        {
            Ok(smmu.Map(d, Iova, Pa, 4 * Page, ReadWrite));
            Assert.Equal(Pa, smmu.TranslateOk(Iova));          // cached
            var gather = new SmmuGather();
            Assert.Equal(4 * (long)Page, smmu.UnmapPages(d, Iova, Page, 4, ref gather));
            Assert.False(gather.IsEmpty);
            Assert.Equal(Pa, smmu.TranslateOk(Iova));          // the device still sees the old translation
            Fails(SmmuError.Fault, smmu.Translate(Sid, Iova + Page, SmmuAccess.Read, out _));   // a miss walks the tables as they are
            Ok(smmu.IotlbSync(d, ref gather));
            Assert.True(gather.IsEmpty);
            Fails(SmmuError.Fault, smmu.Translate(Sid, Iova, SmmuAccess.Read, out _));
        }
    }

    [Fact]
    public void ImmediateUnmapPagesInvalidatesAtOnce()
    {
        var (smmu, d) = Attached();
        using (smmu)
        {
            Ok(smmu.Map(d, Iova, Pa, 2 * Page, ReadWrite));
            smmu.TranslateOk(Iova);
            Assert.Equal(2 * (long)Page, smmu.UnmapPages(d, Iova, Page, 2));
            Fails(SmmuError.Fault, smmu.Translate(Sid, Iova, SmmuAccess.Read, out _));
        }
    }

    [Fact]
    public void EmptiedTablesAreHeldUntilTheSyncAndNotReused()
    {
        var (smmu, d) = Attached();
        using (smmu)
        {
            const ulong Far = 0x80_0000_0000;   // its own level-0 slot: mapping one page there takes 3 tables
            ulong before = smmu.Stats.PtPagesInUse;
            Ok(smmu.Map(d, Far, Pa, Page, ReadWrite));
            Assert.Equal(before + 3, smmu.Stats.PtPagesInUse);
            ulong heldLevel1 = TableUnder(smmu, d, Far);
            var gather = new SmmuGather();
            Ok(smmu.UnmapPages(d, Far, Page, 1, ref gather));
            Assert.Equal(before + 3, smmu.Stats.PtPagesInUse);    // unlinked, but held
            Ok(smmu.Map(d, Far, Pa, Page, ReadWrite));             // needs 3 new tables: the held ones are not handed out
            Assert.Equal(before + 6, smmu.Stats.PtPagesInUse);
            Assert.NotEqual(heldLevel1, TableUnder(smmu, d, Far));
            Ok(smmu.IotlbSync(d, ref gather));
            Assert.Equal(before + 3, smmu.Stats.PtPagesInUse);
        }
    }

    /// <summary>The level-1 table the root's descriptor for <paramref name="iova"/> points at.</summary>
    private static ulong TableUnder(SmmuInstance smmu, DomainHandle d, ulong iova)
    {
        Ok(smmu.GetTtbr0(d, out ulong ttbr0));
        ulong root = ttbr0 & 0x0000_FFFF_FFFF_F000;
        Ok(smmu.PhysRead64(root + ((iova >> 39) & 0x1FF) * 8, out ulong descriptor));
        return descriptor & 0x0000_FFFF_FFFF_F000;
    }

    [Fact]
    public void AdjacentAndOverlappingUnmapsMergeIntoOneRange()
    {
        var (smmu, d) = Attached();
        using (smmu)
        {
            Ok(smmu.Map(d, Iova, Pa, 16 * Page, ReadWrite));
            var gather = new SmmuGather();
            Ok(smmu.UnmapPages(d, Iova + 4 * Page, Page, 2, ref gather));
            Ok(smmu.UnmapPages(d, Iova + 6 * Page, Page, 2, ref gather));   // adjacent above
            Ok(smmu.UnmapPages(d, Iova + 2 * Page, Page, 2, ref gather));   // adjacent below
            Assert.Equal(Iova + 2 * Page, gather.Start);
            Assert.Equal(Iova + 8 * Page - 1, gather.End);
            Assert.Equal(Page, gather.PageSize);
            Assert.Equal(d, gather.Domain);
            Ok(smmu.IotlbSync(d, ref gather));
            Assert.Equal(0ul, gather.PageSize);
            Assert.Equal(ulong.MaxValue, gather.Start);
        }
    }

    [Theory]
    [InlineData("disjoint")]
    [InlineData("page size")]
    [InlineData("domain")]
    public void AGatherThatCannotTakeTheNextUnmapIsSyncedFirst(string why)
    {
        var (smmu, d) = Attached();
        using (smmu)
        {
            DomainHandle other = smmu.AttachDynamic(d);
            Ok(smmu.Map(d, Iova, Pa, 0x40_0000, ReadWrite));            // 2 MiB blocks
            Ok(smmu.Map(other, Iova, Pa, 0x40_0000, ReadWrite));
            Assert.Equal(Pa, smmu.TranslateOk(Iova));                    // d is active: cache its first block
            var gather = new SmmuGather();
            Ok(smmu.UnmapPages(d, Iova, Page, 1, ref gather));           // splits the block; gathered
            Assert.Equal(Pa, smmu.TranslateOk(Iova));                    // still cached
            long next = why switch
            {
                "disjoint" => smmu.UnmapPages(d, Iova + 0x10_0000, Page, 1, ref gather),
                "page size" => smmu.UnmapPages(d, Iova + 0x20_0000, 0x20_0000, 1, ref gather),
                _ => smmu.UnmapPages(other, Iova, Page, 1, ref gather),
            };
            Ok(next);
            Fails(SmmuError.Fault, smmu.Translate(Sid, Iova, SmmuAccess.Read, out _));   // the first range was synced
            Assert.Equal(why == "domain" ? other : d, gather.Domain);
            Ok(smmu.IotlbSync(gather.Domain, ref gather));
        }
    }

    [Fact]
    public void SyncRefusesAnotherDomainsGatherAndForgedOnes()
    {
        var (smmu, d) = Attached();
        using (smmu)
        {
            DomainHandle other = smmu.AttachDynamic(d);
            Ok(smmu.Map(d, Iova, Pa, Page, ReadWrite));
            var gather = new SmmuGather();
            Ok(smmu.UnmapPages(d, Iova, Page, 1, ref gather));
            SmmuGather before = gather;
            Fails(SmmuError.Invalid, smmu.IotlbSync(other, ref gather));
            Assert.Equal(before, gather);

            SmmuGather forged = gather;
            forged.Ticket ^= 0x5_0000_0000;   // a generation never issued
            Fails(SmmuError.Invalid, smmu.IotlbSync(d, ref forged));
            forged = gather;
            forged.Ticket = 0xFFFF;            // a slot never used
            Fails(SmmuError.Invalid, smmu.IotlbSync(d, ref forged));
            Fails(SmmuError.Invalid, (int)smmu.UnmapPages(d, Iova, Page, 1, ref forged));
            SmmuGather unsized = default;      // not initialized
            Fails(SmmuError.Invalid, smmu.IotlbSync(d, ref unsized));
            Fails(SmmuError.Invalid, smmu.IotlbSync(default, ref unsized));                        // struct sizes before handles
            Fails(SmmuError.Invalid, (int)smmu.UnmapPages(default, Iova, Page, 1, ref unsized));
            Fails(SmmuError.BadHandle, smmu.IotlbSync(default, ref gather));

            SmmuGather copy = gather;
            Ok(smmu.IotlbSync(d, ref gather));
            Ok(smmu.IotlbSync(d, ref copy));   // a copy of a synced gather is empty
            Assert.True(copy.IsEmpty);
            var empty = new SmmuGather();
            Ok(smmu.IotlbSync(d, ref empty));
            Assert.Equal(0ul, smmu.Stats.MissedSyncs);
        }
    }

    [Theory]
    [InlineData(0x3000ul, 1ul, SmmuError.Invalid)]        // not a leaf size
    [InlineData(0x10000ul, 1ul, SmmuError.Invalid)]       // a 64K page on a 4K domain
    [InlineData(0x1000ul, 0ul, SmmuError.Invalid)]        // no pages
    [InlineData(0x20_0000ul, 1ul, SmmuError.Invalid)]     // iova not aligned to 2 MiB
    [InlineData(0x1000ul, 1ul << 60, SmmuError.Range)]    // overflows
    [InlineData(0x1000ul, 1ul << 40, SmmuError.Range)]    // beyond 2^ias
    public void UnmapPagesChecksItsArguments(ulong pageSize, ulong pageCount, int expected)
    {
        var (smmu, d) = Attached();
        using (smmu)
        {
            ulong iova = Iova + Page;
            Ok(smmu.Map(d, iova, Pa, Page, ReadWrite));
            ulong pages = smmu.Stats.PtPagesInUse;
            var gather = new SmmuGather();
            Assert.Equal(expected, (int)smmu.UnmapPages(d, iova, pageSize, pageCount, ref gather));
            Assert.Equal(expected, (int)smmu.UnmapPages(d, iova, pageSize, pageCount));
            Assert.True(gather.IsEmpty);
            Assert.Equal(pages, smmu.Stats.PtPagesInUse);
            Assert.Equal(Pa, smmu.TranslateOk(iova));
        }
    }

    [Fact]
    public void MapPagesUsesThePageSizesLevel()
    {
        var (smmu, d) = Attached();
        using (smmu)
        {
            ulong before = smmu.Stats.PtPagesInUse;
            Ok(smmu.Map(d, Iova, Pa, 0x20_0000, ReadWrite));                         // one 2 MiB block: 2 tables (L1, L2)
            Assert.Equal(before + 2, smmu.Stats.PtPagesInUse);
            Ok(smmu.MapPages(d, Iova + 0x20_0000, Pa, Page, 512, ReadWrite, out ulong mapped));   // 512 pages: an L3 table too
            Assert.Equal(0x20_0000ul, mapped);
            Assert.Equal(before + 3, smmu.Stats.PtPagesInUse);
            Ok(smmu.MapPages(d, Iova + 0x40_0000, Pa, 0x20_0000, 1, ReadWrite, out mapped));
            Assert.Equal(before + 3, smmu.Stats.PtPagesInUse);
            Assert.Equal(Pa + 0x1234, smmu.TranslateOk(Iova + 0x20_1234));
        }
    }

    [Fact]
    public void AFailedMapPagesMapsNothingAndSaysSo()
    {
        var (smmu, d) = Attached();
        using (smmu)
        {
            Ok(smmu.Map(d, Iova + 8 * Page, Pa, Page, ReadWrite));   // in the way of the 9th page
            ulong pages = smmu.Stats.PtPagesInUse;
            Fails(SmmuError.Exists, smmu.MapPages(d, Iova, Pa, Page, 16, ReadWrite, out ulong mapped));
            Assert.Equal(0ul, mapped);
            Assert.Equal(pages, smmu.Stats.PtPagesInUse);
            Fails(SmmuError.NoEntry, smmu.IovaToPhys(d, Iova, out _));
            Fails(SmmuError.Invalid, smmu.MapPages(d, Iova, Pa + 0x800, Page, 1, ReadWrite, out mapped));   // pa misaligned
            Fails(SmmuError.Invalid, smmu.MapPages(d, Iova + Page, Pa, 0x20_0000, 1, ReadWrite, out mapped));   // iova not 2 MiB aligned
            Fails(SmmuError.Invalid, smmu.MapPages(d, Iova, Pa, Page, 0, ReadWrite, out mapped));
            Fails(SmmuError.Range, smmu.MapPages(d, Iova, Pa, Page, ulong.MaxValue, ReadWrite, out mapped));
            Fails(SmmuError.BadHandle, smmu.MapPages(default, Iova, Pa, Page, 1, ReadWrite, out mapped));
        }
    }

    [Fact]
    public void MapPagesOnLargerGranulesTakesTheirSizes()
    {
        SmmuInstance smmu = Create();
        using (smmu)
        {
            DomainHandle d = smmu.Alloc();
            Ok(smmu.SetGranule(d, 0x4000));
            Fails(SmmuError.Invalid, smmu.MapPages(d, Iova, Pa, Page, 1, ReadWrite, out _));
            Ok(smmu.MapPages(d, Iova, Pa, 0x4000, 2, ReadWrite, out ulong mapped));
            Assert.Equal(0x8000ul, mapped);
            Ok(smmu.MapPages(d, 0x2_0000_0000, Pa, 0x200_0000, 1, ReadWrite, out mapped));   // 32 MiB block
            Assert.Equal(0x8000L, smmu.UnmapPages(d, Iova, 0x4000, 2));
        }
    }

    [Fact]
    public void LazyModeQueuesSyncsUntilOneInvalidateAll()
    {
        var (smmu, d) = Attached(SmmuConfigFlags.LazyFlush, flushQueue: 4);
        using (smmu)
        {
            Ok(smmu.Map(d, Iova, Pa, 8 * Page, ReadWrite));
            for (int p = 0; p < 8; p++)
                smmu.TranslateOk(Iova + (ulong)p * Page);
            ulong invalidations = smmu.Stats.TlbInvalidations;
            ulong pages = smmu.Stats.PtPagesInUse;
            for (int p = 0; p < 3; p++)
            {
                var gather = new SmmuGather();
                Ok(smmu.UnmapPages(d, Iova + (ulong)p * Page, Page, 1, ref gather));
                Ok(smmu.IotlbSync(d, ref gather));
                Assert.True(gather.IsEmpty);
            }
            Assert.Equal(3, smmu.QueuedSyncs);
            Assert.Equal(invalidations, smmu.Stats.TlbInvalidations);
            Assert.Equal(Pa, smmu.TranslateOk(Iova));           // still cached: queued, not done
            var last = new SmmuGather();
            Ok(smmu.UnmapPages(d, Iova + 3 * Page, Page, 1, ref last));
            Ok(smmu.IotlbSync(d, ref last));                      // the 4th: the queue is full, one flush-all
            Assert.Equal(0, smmu.QueuedSyncs);
            Assert.Equal(invalidations + 1, smmu.Stats.TlbInvalidations);
            Fails(SmmuError.Fault, smmu.Translate(Sid, Iova, SmmuAccess.Read, out _));
            Assert.True(smmu.Stats.PtPagesInUse <= pages);
        }
    }

    [Fact]
    public void FlushQueueDoesThePendingFlushNow()
    {
        var (smmu, d) = Attached(SmmuConfigFlags.LazyFlush);
        using (smmu)
        {
            const ulong Far = 0x80_0000_0000;
            ulong before = smmu.Stats.PtPagesInUse;
            Ok(smmu.Map(d, Far, Pa, Page, ReadWrite));
            smmu.TranslateOk(Far);
            var gather = new SmmuGather();
            Ok(smmu.UnmapPages(d, Far, Page, 1, ref gather));
            Ok(smmu.IotlbSync(d, ref gather));
            Assert.Equal(before + 3, smmu.Stats.PtPagesInUse);   // queued: the tables wait for the flush
            Assert.Equal(Pa, smmu.TranslateOk(Far));
            Ok(smmu.FlushQueue());
            Assert.Equal(before, smmu.Stats.PtPagesInUse);
            Fails(SmmuError.Fault, smmu.Translate(Sid, Far, SmmuAccess.Read, out _));
            Ok(smmu.FlushQueue());                                 // nothing queued: nothing happens
            Assert.Equal(0ul, smmu.Stats.NeedlessInvalidations);
        }
    }

    [Fact]
    public void WithoutLazyModeFlushQueueDoesNothing()
    {
        var (smmu, _) = Attached();
        using (smmu)
        {
            ulong invalidations = smmu.Stats.TlbInvalidations;
            Ok(smmu.FlushQueue());
            Assert.Equal(invalidations, smmu.Stats.TlbInvalidations);
        }
    }

    [Fact]
    public void DetachingWithAGatherPendingIsAMissedSyncDoneThen()
    {
        var (smmu, d) = Attached();
        using (smmu)
        {
            var reports = new List<SmmuStaleReport>();
            smmu.SanitizerReport += (_, in r) => reports.Add(r);
            const ulong Far = 0x80_0000_0000;
            ulong before = smmu.Stats.PtPagesInUse;
            Ok(smmu.Map(d, Far, Pa, 2 * Page, ReadWrite));
            uint asid = smmu.AsidOf(d);
            var gather = new SmmuGather();
            Ok(smmu.UnmapPages(d, Far, Page, 2, ref gather));
            Ok(smmu.DetachDevice(d, Sid));
            Assert.Equal(1ul, smmu.Stats.MissedSyncs);
            Assert.Equal(before, smmu.Stats.PtPagesInUse);      // the forced sync freed the held tables
            SmmuStaleReport report = Assert.Single(reports);
            Assert.Equal(SmmuStaleKind.MissedSync, report.Kind);
            Assert.Equal(d, report.Domain);
            Assert.Equal(asid, report.Asid);
            Assert.Equal(0u, report.ContextBank);
            Assert.Equal(Far, report.Iova);
            Assert.Equal(Far + 2 * Page - 1, report.IovaLast);
            Assert.Equal(3u, report.TablePages);
            Ok(smmu.IotlbSync(d, ref gather));                   // the caller's late sync: its gather is empty now
            Assert.Single(reports);
        }
    }

    [Fact]
    public void FreeingADomainWithAGatherPendingIsAMissedSync()
    {
        SmmuInstance smmu = Create();
        using (smmu)
        {
            DomainHandle d = smmu.Alloc();
            ulong before = smmu.Stats.PtPagesInUse;
            Ok(smmu.Map(d, Iova, Pa, Page, ReadWrite | SmmuProt.Global));
            var gather = new SmmuGather();
            Ok(smmu.UnmapPages(d, Iova, Page, 1, ref gather));
            Ok(smmu.DomainFree(d));
            Assert.Equal(1ul, smmu.Stats.MissedSyncs);
            Assert.Equal(before - 1, smmu.Stats.PtPagesInUse);   // the root too
        }
    }

    [Fact]
    public void AFailedDetachSettlesNothing()
    {
        var (smmu, d) = Attached();
        using (smmu)
        {
            DomainHandle process = smmu.AttachDynamic(d);
            Ok(smmu.Map(d, Iova, Pa, Page, ReadWrite));
            var gather = new SmmuGather();
            Ok(smmu.UnmapPages(d, Iova, Page, 1, ref gather));
            Fails(SmmuError.Busy, smmu.DetachDevice(d, Sid));   // a process is still attached
            Assert.Equal(0ul, smmu.Stats.MissedSyncs);
            Ok(smmu.IotlbSync(d, ref gather));
            Ok(smmu.DetachDevice(process, Sid));
        }
    }

    [Fact]
    public void ASyncThatFindsNothingCachedIsNeedless()
    {
        var (smmu, d) = Attached();
        using (smmu)
        {
            var reports = new List<SmmuStaleReport>();
            smmu.SanitizerReport += (_, in r) => reports.Add(r);
            Ok(smmu.Map(d, Iova, Pa, 2 * Page, ReadWrite));
            smmu.TranslateOk(Iova);
            var gather = new SmmuGather();
            Ok(smmu.UnmapPages(d, Iova, Page, 1, ref gather));
            Ok(smmu.IotlbSync(d, ref gather));                    // removed the cached entry: needed
            Assert.Equal(0ul, smmu.Stats.NeedlessInvalidations);
            Ok(smmu.UnmapPages(d, Iova + Page, Page, 1, ref gather));
            Ok(smmu.IotlbSync(d, ref gather));                    // never translated: nothing cached
            Assert.Equal(1ul, smmu.Stats.NeedlessInvalidations);
            SmmuStaleReport report = Assert.Single(reports);
            Assert.Equal(SmmuStaleKind.NeedlessInvalidation, report.Kind);
            Assert.Equal(Iova + Page, report.Iova);
            Assert.Equal(Iova + 2 * Page - 1, report.IovaLast);
            Assert.Equal(d, report.Domain);
        }
    }

    [Fact]
    public void AGatheredUnmapOfNothingLeavesTheGatherEmpty()
    {
        var (smmu, d) = Attached();
        using (smmu)
        {
            var gather = new SmmuGather();
            Assert.Equal(0L, smmu.UnmapPages(d, Iova, Page, 4, ref gather));
            Assert.True(gather.IsEmpty);
        }
    }
}
