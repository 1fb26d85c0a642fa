using static Smmu.Core.Tests.TestSmmu;

namespace Smmu.Core.Tests;

/// <summary>
/// The stale-TLB sanitizer (issue 12): each driver bug class is provoked on purpose and caught with the right
/// report — a DMA after unmap before the sync, a remap the device still sees with its old PA (also in rights),
/// through a batch, through a global entry, and through nesting — while the translation returns what the
/// hardware would. Without the flag, the same sequences translate the same and report nothing. Hits that
/// agree with the tables (the rest of a split block) are never reported.
/// </summary>
[Trait("Category", "Simd")]
public class SanitizerTests
{
    private const ulong Page = 0x1000, NewPa = 0x2_0000_0000;

    public static TheoryData<SimdWidth> AllWidths => new(SimdWidth.Scalar, SimdWidth.Vector128, SimdWidth.Vector256, SimdWidth.Vector512);

    /// <summary>An instance with a base domain attached to <see cref="TestSmmu.Sid"/>, recording its sanitizer reports.</summary>
    private sealed class Driver : IDisposable
    {
        public readonly SmmuInstance Smmu;
        public readonly DomainHandle Base;
        public readonly List<SmmuStaleReport> Reports = [];
        public SmmuGather Gather = new();

        public Driver(SimdWidth width = SimdWidth.Vector512, SmmuConfigFlags flags = SmmuConfigFlags.SanitizeTlb)
        {
            Smmu = Create(c => c with { Flags = flags }, width);
            Base = Smmu.AttachBase();
            Smmu.SanitizerReport += (_, in r) => Reports.Add(r);
        }

        public IEnumerable<SmmuStaleReport> Stale => Reports.Where(r => r.Kind == SmmuStaleKind.StaleTranslation);

        public void Dispose() => Smmu.Dispose();
    }

    [Theory]
    [MemberData(nameof(AllWidths))]
    public void ADmaAfterUnmapBeforeTheSyncIsReported(SimdWidth width)
    {
        using var driver = new Driver(width);
        SmmuInstance smmu = driver.Smmu;
        Ok(smmu.Map(driver.Base, Iova, Pa, Page, ReadWrite));
        Assert.Equal(Pa + 0x10, smmu.TranslateOk(Iova + 0x10));
        Ok(smmu.UnmapPages(driver.Base, Iova, Page, 1, ref driver.Gather));

        Assert.Equal(Pa + 0x20, smmu.TranslateOk(Iova + 0x20, SmmuAccess.Write));   // what the hardware does: the old PA
        SmmuStaleReport report = Assert.Single(driver.Reports);
        Assert.Equal(SmmuStaleKind.StaleTranslation, report.Kind);
        Assert.Equal(Sid, report.StreamId);
        Assert.Equal(0u, report.ContextBank);
        Assert.Equal(smmu.AsidOf(driver.Base), report.Asid);
        Assert.Equal(0u, report.Vmid);
        Assert.Equal(driver.Base, report.Domain);
        Assert.Equal(SmmuAccess.Write, report.Access);
        Assert.Equal(Iova + 0x20, report.Iova);
        Assert.Equal(Pa + 0x20, report.StalePa);
        Assert.Equal(1u, report.StaleGranted);
        Assert.Equal(FaultType.Translation, report.CurrentFault);
        Assert.Equal(1ul, smmu.Stats.StaleTranslations);

        Ok(smmu.IotlbSync(driver.Base, ref driver.Gather));
        Fails(SmmuError.Fault, smmu.Translate(Sid, Iova, SmmuAccess.Read, out _));
        Assert.Single(driver.Stale);
    }

    [Theory]
    [MemberData(nameof(AllWidths))]
    public void ARemapTheDeviceStillSeesWithItsOldPaIsReported(SimdWidth width)
    {
        using var driver = new Driver(width);
        SmmuInstance smmu = driver.Smmu;
        Ok(smmu.Map(driver.Base, Iova, Pa, Page, ReadWrite));
        smmu.TranslateOk(Iova);
        Ok(smmu.UnmapPages(driver.Base, Iova, Page, 1, ref driver.Gather));
        Ok(smmu.Map(driver.Base, Iova, NewPa, Page, ReadWrite));

        Assert.Equal(Pa, smmu.TranslateOk(Iova));
        SmmuStaleReport report = Assert.Single(driver.Reports);
        Assert.Equal(Pa, report.StalePa);
        Assert.Equal(NewPa, report.CurrentPa);
        Assert.Equal(FaultType.None, report.CurrentFault);

        Ok(smmu.IotlbSync(driver.Base, ref driver.Gather));
        Assert.Equal(NewPa, smmu.TranslateOk(Iova));
        Assert.Single(driver.Reports);
    }

    [Fact]
    public void ARemapToTheSameTranslationIsNotStale()
    {
        using var driver = new Driver();
        SmmuInstance smmu = driver.Smmu;
        Ok(smmu.Map(driver.Base, Iova, Pa, Page, ReadWrite));
        smmu.TranslateOk(Iova);
        Ok(smmu.UnmapPages(driver.Base, Iova, Page, 1, ref driver.Gather));
        Ok(smmu.Map(driver.Base, Iova, Pa, Page, ReadWrite));
        Assert.Equal(Pa, smmu.TranslateOk(Iova, SmmuAccess.Write));
        Assert.Empty(driver.Stale);
        Assert.Equal(0ul, smmu.Stats.StaleTranslations);
    }

    [Fact]
    public void StaleRightsAreReportedBothWays()
    {
        using var driver = new Driver();
        SmmuInstance smmu = driver.Smmu;
        // Writable before, read-only now: the stale entry lets a write through.
        Ok(smmu.Map(driver.Base, Iova, Pa, Page, ReadWrite));
        smmu.TranslateOk(Iova);
        Ok(smmu.UnmapPages(driver.Base, Iova, Page, 1, ref driver.Gather));
        Ok(smmu.Map(driver.Base, Iova, Pa, Page, SmmuProt.Read));
        Assert.Equal(Pa, smmu.TranslateOk(Iova, SmmuAccess.Write));
        SmmuStaleReport granted = Assert.Single(driver.Stale);
        Assert.Equal(1u, granted.StaleGranted);
        Assert.Equal(FaultType.Permission, granted.CurrentFault);
        Assert.Equal(Pa, smmu.TranslateOk(Iova));   // a read agrees with the tables: not stale
        Assert.Single(driver.Stale);
        Ok(smmu.IotlbSync(driver.Base, ref driver.Gather));

        // Read-only before, writable now: the stale entry denies a write the tables allow.
        Ok(smmu.Map(driver.Base, Iova + Page, Pa, Page, SmmuProt.Read));
        smmu.TranslateOk(Iova + Page);
        Ok(smmu.UnmapPages(driver.Base, Iova + Page, Page, 1, ref driver.Gather));
        Ok(smmu.Map(driver.Base, Iova + Page, Pa, Page, ReadWrite));
        Fails(SmmuError.Fault, smmu.Translate(Sid, Iova + Page, SmmuAccess.Write, out _));
        SmmuStaleReport denied = driver.Stale.Last();
        Assert.Equal(0u, denied.StaleGranted);
        Assert.Equal(FaultType.None, denied.CurrentFault);
        Assert.Equal(Pa, denied.CurrentPa);
        Ok(smmu.GetFault(0, out SmmuFault fault));
        Assert.Equal(FaultType.Permission, fault.Type);
    }

    [Fact]
    public void TheRestOfASplitBlockIsNotReported()
    {
        using var driver = new Driver();
        SmmuInstance smmu = driver.Smmu;
        Ok(smmu.Map(driver.Base, Iova, Pa, 0x20_0000, ReadWrite));   // a 2 MiB block
        smmu.TranslateOk(Iova);
        Ok(smmu.UnmapPages(driver.Base, Iova + 5 * Page, Page, 1, ref driver.Gather));   // splits it
        for (ulong p = 0; p < 512; p++)
        {
            if (p != 5)
                Assert.Equal(Pa + p * Page, smmu.TranslateOk(Iova + p * Page));   // the block's entry, agreeing with the tables
        }
        Assert.Empty(driver.Stale);
        Assert.Equal(Pa + 5 * Page, smmu.TranslateOk(Iova + 5 * Page));          // the hole, served by the block's entry
        Assert.Single(driver.Stale);
    }

    [Fact]
    public void ABatchReportsAndGoesOn()
    {
        using var driver = new Driver();
        SmmuInstance smmu = driver.Smmu;
        Ok(smmu.Map(driver.Base, Iova, Pa, 4 * Page, ReadWrite));
        ulong[] iovas = [Iova, Iova + Page, Iova + 2 * Page, Iova + 3 * Page];
        var pas = new ulong[4];
        Ok(smmu.TranslateBatch(Sid, iovas, pas, SmmuAccess.Read, out _));
        Ok(smmu.UnmapPages(driver.Base, Iova + Page, Page, 2, ref driver.Gather));
        Array.Clear(pas);
        Ok(smmu.TranslateBatch(Sid, iovas, pas, SmmuAccess.Read, out int done));
        Assert.Equal(4, done);
        Assert.Equal([Pa, Pa + Page, Pa + 2 * Page, Pa + 3 * Page], pas);
        Assert.Equal([Iova + Page, Iova + 2 * Page], driver.Stale.Select(r => r.Iova));
    }

    [Fact]
    public void AHandlerThatDetachesTheStreamEndsTheBatch()
    {
        using var driver = new Driver();
        SmmuInstance smmu = driver.Smmu;
        Ok(smmu.Map(driver.Base, Iova, Pa, 4 * Page, ReadWrite));
        ulong[] iovas = [Iova, Iova + Page, Iova + 2 * Page, Iova + 3 * Page];
        var pas = new ulong[4];
        Ok(smmu.TranslateBatch(Sid, iovas, pas, SmmuAccess.Read, out _));
        Ok(smmu.UnmapPages(driver.Base, Iova + Page, Page, 1, ref driver.Gather));
        smmu.SetSanitizerHandler((s, in r) => s.DetachDevice(driver.Base, Sid));
        Fails(SmmuError.NoDevice, smmu.TranslateBatch(Sid, iovas, pas, SmmuAccess.Read, out int done));
        Assert.Equal(2, done);   // the stale one was served; the next found no device
    }

    [Fact]
    public void WithoutTheFlagTheSameBugsTranslateTheSameAndReportNothing()
    {
        using var driver = new Driver(flags: SmmuConfigFlags.None);
        SmmuInstance smmu = driver.Smmu;
        Ok(smmu.Map(driver.Base, Iova, Pa, Page, ReadWrite));
        smmu.TranslateOk(Iova);
        Ok(smmu.UnmapPages(driver.Base, Iova, Page, 1, ref driver.Gather));
        Ok(smmu.Map(driver.Base, Iova, NewPa, Page, ReadWrite));
        Assert.Equal(Pa, smmu.TranslateOk(Iova));
        Assert.Empty(driver.Stale);
        Assert.Equal(0ul, smmu.Stats.StaleTranslations);
        Assert.Null(smmu.TlbForTests.IsWatched(0) ? "watched" : null);
    }

    [Fact]
    public void AQueuedSyncStillLeavesTheTranslationStaleUntilTheFlush()
    {
        using var driver = new Driver(flags: SmmuConfigFlags.SanitizeTlb | SmmuConfigFlags.LazyFlush);
        SmmuInstance smmu = driver.Smmu;
        Ok(smmu.Map(driver.Base, Iova, Pa, Page, ReadWrite));
        smmu.TranslateOk(Iova);
        Ok(smmu.UnmapPages(driver.Base, Iova, Page, 1, ref driver.Gather));
        Ok(smmu.IotlbSync(driver.Base, ref driver.Gather));       // queued
        Assert.Equal(Pa, smmu.TranslateOk(Iova));
        Assert.Single(driver.Stale);
        Ok(smmu.FlushQueue());
        Fails(SmmuError.Fault, smmu.Translate(Sid, Iova, SmmuAccess.Read, out _));
        Assert.Single(driver.Stale);
    }

    [Fact]
    public void ARemovedGlobalPageIsStaleForEveryProcess()
    {
        using var driver = new Driver();
        SmmuInstance smmu = driver.Smmu;
        Ok(smmu.DetachDevice(driver.Base, Sid));   // the stream goes to a split bank instead
        DomainHandle kernel = smmu.Alloc();
        Ok(smmu.SetSplitTtbr1(kernel, true));
        Ok(smmu.AttachDevice(kernel, Sid));
        DomainHandle a = smmu.AttachDynamic(kernel), b = smmu.AttachDynamic(kernel);
        const ulong Upper = 0xFFFF_FFFF_0000_0000;
        Ok(smmu.Map(kernel, Upper, Pa, Page, ReadWrite | SmmuProt.Global));
        Ok(smmu.SwitchDomain(a));
        smmu.TranslateOk(Upper);   // one global entry, shared
        Ok(smmu.UnmapPages(kernel, Upper, Page, 1, ref driver.Gather));
        Ok(smmu.SwitchDomain(b));
        Assert.Equal(Pa, smmu.TranslateOk(Upper));
        SmmuStaleReport report = Assert.Single(driver.Stale);
        Assert.Equal(kernel, report.Domain);              // the TTBR1 half: the base's tables
        Assert.Equal(smmu.AsidOf(b), report.Asid);
        Ok(smmu.IotlbSync(kernel, ref driver.Gather));
        Fails(SmmuError.Fault, smmu.Translate(Sid, Upper, SmmuAccess.Read, out _));
    }

    [Fact]
    public void AStage2UnmapLeavesCombinedEntriesStale()
    {
        using var driver = new Driver();
        SmmuInstance smmu = driver.Smmu;
        Ok(smmu.DetachDevice(driver.Base, Sid));
        SmmuConfig config = smmu.Config;
        DomainHandle stage2 = smmu.Alloc();
        Ok(smmu.SetStage(stage2, 2));
        Ok(smmu.Map(stage2, config.PtPoolBase, config.PtPoolBase, config.PtPoolBytes, ReadWrite));
        const ulong Ipa = 0x8000_0000;
        Ok(smmu.Map(stage2, Ipa, Pa, 0x20_0000, ReadWrite));
        DomainHandle guest = smmu.Alloc();
        Ok(smmu.SetNestParent(guest, stage2));
        Ok(smmu.Map(guest, Iova, Ipa, Page, ReadWrite));
        Ok(smmu.AttachDevice(guest, Sid));
        Assert.Equal(Pa, smmu.TranslateOk(Iova));          // one combined entry
        var gather = new SmmuGather();
        Ok(smmu.UnmapPages(stage2, Ipa, 0x20_0000, 1, ref gather));   // the hypervisor takes the guest's memory away
        Assert.Equal(Pa, smmu.TranslateOk(Iova));
        SmmuStaleReport report = Assert.Single(driver.Stale);
        Assert.Equal(FaultType.Translation, report.CurrentFault);
        Assert.NotEqual(0u, report.Vmid);
        Ok(smmu.IotlbSync(stage2, ref gather));
        Fails(SmmuError.Fault, smmu.Translate(Sid, Iova, SmmuAccess.Read, out _));
    }

    [Fact]
    public void AHandlerMayCallBackButNotDispose()
    {
        using var driver = new Driver();
        SmmuInstance smmu = driver.Smmu;
        Ok(smmu.Map(driver.Base, Iova, Pa, 2 * Page, ReadWrite));
        smmu.TranslateOk(Iova);
        smmu.TranslateOk(Iova + Page);
        Ok(smmu.UnmapPages(driver.Base, Iova, Page, 2, ref driver.Gather));
        int calls = 0;
        Exception? disposeError = null;
        bool inHandler = false;
        smmu.SetSanitizerHandler((s, in r) =>
        {
            calls++;
            inHandler = s.InHandler;
            disposeError = Record.Exception(s.Dispose);
            s.TranslateOk(Iova + Page);   // stale too: counted, not delivered again
        });
        smmu.TranslateOk(Iova);
        Assert.Equal(1, calls);
        Assert.True(inHandler);
        Assert.IsType<InvalidOperationException>(disposeError);
        Assert.Equal(2ul, smmu.Stats.StaleTranslations);
        Assert.Single(driver.Stale);   // the event got the first only, like the installed handler
        Ok(smmu.SetSanitizerHandler(null));
        smmu.TranslateOk(Iova);
        Assert.Equal(1, calls);
        Assert.False(smmu.InHandler);
    }

    [Fact]
    public void ACorrectDriverIsNeverReported()
    {
        // Random map / gathered unmap / sync / switch / translate over several processes, always syncing
        // before an IOVA is reused, and the device touching only mapped IOVAs — with blocks split by
        // partial unmaps, so that watched entries keep serving the rest of their block.
        const int Operations = 100_000, Processes = 4, Slots = 64;
        const ulong Region = 0x20_0000;
        using var driver = new Driver();
        SmmuInstance smmu = driver.Smmu;
        var domains = new DomainHandle[Processes];
        var gathers = new SmmuGather[Processes];
        var pending = new HashSet<int>[Processes];   // slots with an unmap in the process's unsynced gather
        for (int p = 0; p < Processes; p++)
        {
            domains[p] = smmu.AttachDynamic(driver.Base);
            gathers[p] = new SmmuGather();
            pending[p] = [];
        }
        var state = new int[Processes, Slots];       // 0 free, 1 a 2 MiB block mapped, 2 the block with one page unmapped
        var hole = new ulong[Processes, Slots];
        var random = new Random(12);
        int active = -1, translations = 0;
        for (int op = 0; op < Operations; op++)
        {
            int p = random.Next(Processes), s = random.Next(Slots);
            ulong region = Iova + (ulong)s * Region, pa = Pa + ((ulong)(p * Slots + s) << 21);
            bool busy = pending[p].Contains(s);
            switch (random.Next(6))
            {
                case 0 when state[p, s] == 0 && !busy:
                    Ok(smmu.Map(domains[p], region, pa, Region, ReadWrite));
                    state[p, s] = 1;
                    break;
                case 1 when state[p, s] == 1 && !busy:
                    hole[p, s] = (ulong)random.Next(512) * Page;
                    GatheredUnmap(p, s, region + hole[p, s], Page);
                    state[p, s] = 2;
                    break;
                case 2 when state[p, s] == 2 && !busy:
                    GatheredUnmap(p, s, region, Region);   // the rest of the block (the hole is synced)
                    state[p, s] = 0;
                    break;
                case 3:
                    Ok(smmu.IotlbSync(domains[p], ref gathers[p]));
                    pending[p].Clear();
                    break;
                case 4:
                    Ok(smmu.SwitchDomain(domains[p]));
                    active = p;
                    break;
                case 5 when active >= 0:
                    ulong offset = (ulong)random.Next(512) * Page;
                    if (state[active, s] == 1 || (state[active, s] == 2 && offset != hole[active, s]))
                    {
                        ulong activePa = Pa + ((ulong)(active * Slots + s) << 21);
                        Assert.Equal(activePa + offset, smmu.TranslateOk(region + offset));
                        translations++;
                    }
                    break;
            }
        }
        Assert.True(translations > 5_000);
        Assert.Empty(driver.Stale);
        Assert.DoesNotContain(driver.Reports, r => r.Kind == SmmuStaleKind.MissedSync);
        Assert.Equal(0ul, smmu.Stats.StaleTranslations);

        // As iommu_iotlb_gather_add_page: a disjoint range or another page size syncs the gather first.
        void GatheredUnmap(int p, int slot, ulong iova, ulong size)
        {
            ref SmmuGather g = ref gathers[p];
            if (!g.IsEmpty && (g.PageSize != size || iova + size < g.Start || iova > g.End + 1))
                pending[p].Clear();
            Assert.Equal((long)(size == Page ? Page : Region - Page), smmu.UnmapPages(domains[p], iova, size, 1, ref g));
            pending[p].Add(slot);
        }
    }
}
