using BenchmarkDotNet.Attributes;
using Smmu.Bench.Fixtures;
using Smmu.Core;

namespace Smmu.Bench.Benchmarks;

/// <summary>When an unmap's TLB invalidation is done (a benchmark parameter).</summary>
public enum InvalidationMode
{
    /// <summary><c>unmap_pages</c> without a gather: each unmap invalidates its page now.</summary>
    Immediate,
    /// <summary>Unmaps into a gather of 16 adjacent pages, then one <c>iotlb_sync</c>: one range invalidation per 16 unmaps.</summary>
    GatherSync16,
    /// <summary><see cref="SmmuConfigFlags.LazyFlush"/> with a 256-deep queue: each unmap's sync is queued, one invalidate-all per 256 unmaps.</summary>
    LazyFlush256,
}

/// <summary>
/// A DMA driver's map + translate + unmap of one 4 KiB page per op (<c>map_pages</c>, one device read,
/// <c>unmap_pages</c>), with the three ways of invalidating (<see cref="InvalidationMode"/>), the stale-TLB
/// sanitizer off and on. The read misses, walks and fills the TLB, so every invalidation removes a real entry.
/// <para>An invocation is 1024 ops over 1024 distinct IOVAs, in ascending order, and ends with every
/// invalidation done: 1024 immediate ones, 64 gathers of 16 adjacent pages, or 4 flush-alls. Each IOVA is
/// reused only in the next invocation, 1024 ops later, after its invalidation: a correct driver (the lazy
/// queue holds at most 256 IOVAs' invalidations, well under the cycle), so the sanitizer has nothing to
/// report and the setup checks that it reports nothing.</para>
/// <para>The IOVAs are the lower halves (256 pages) of four 2 MiB regions, whose last page stays mapped: no
/// table is allocated by a map or emptied by an unmap. Going from one region to the next is a disjoint range,
/// which would sync a gather early; it falls on a 16-op boundary, where the gather was just synced.</para>
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class DeferredMaintenanceBenchmarks
{
    private const SmmuProt ReadWrite = SmmuProt.Read | SmmuProt.Write;
    private const int Regions = 4;
    private const int PagesPerRegion = 256;
    private const int Ops = Regions * PagesPerRegion;
    private const int GatherPages = 16;
    private const uint FlushQueueSize = 256;

    private Testbed _testbed = null!;
    private ulong[] _iovas = null!;
    private SmmuGather _gather = new();

    [Params(InvalidationMode.Immediate, InvalidationMode.GatherSync16, InvalidationMode.LazyFlush256)]
    public InvalidationMode Mode { get; set; }

    [Params(false, true)]
    public bool Sanitizer { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        SmmuConfigFlags flags = (Sanitizer ? SmmuConfigFlags.SanitizeTlb : SmmuConfigFlags.None)
                                | (Mode == InvalidationMode.LazyFlush256 ? SmmuConfigFlags.LazyFlush : SmmuConfigFlags.None);
        SmmuConfig config = Layout.Config(flags: flags);
        config.FlushQueueSize = FlushQueueSize;
        if (Sanitizer && Mode != InvalidationMode.Immediate)
            CheckSanitizerSeesDmaAfterUnmap(config);

        _testbed = new Testbed(config);
        SmmuInstance smmu = _testbed.Smmu;
        _iovas = new ulong[Ops];
        for (int op = 0; op < Ops; op++)
            _iovas[op] = RegionIova(op / PagesPerRegion) + (ulong)(op % PagesPerRegion) * Layout.PageSize;
        for (int region = 0; region < Regions; region++)
        {
            ulong neighbour = RegionIova(region) + Layout.BlockSize - Layout.PageSize;
            Check.Ok(smmu.Map(_testbed.Base, neighbour, Layout.ExpectedPa(0, neighbour), Layout.PageSize, ReadWrite), "map neighbour page");
        }
        // With the neighbours in place, a map or an unmap in any region takes or frees no table.
        ulong tables = smmu.Stats.PtPagesInUse;
        for (int region = 0; region < Regions; region++)
        {
            ulong iova = _iovas[region * PagesPerRegion];
            Check.Ok(smmu.MapPages(_testbed.Base, iova, Layout.ExpectedPa(0, iova), Layout.PageSize, 1, ReadWrite, out _), "map_pages");
            Check.That(smmu.Stats.PtPagesInUse == tables, "a map allocated a table");
            Check.That(smmu.UnmapPages(_testbed.Base, iova, Layout.PageSize, 1) == (long)Layout.PageSize, "unmap_pages");
            Check.That(smmu.Stats.PtPagesInUse == tables, "an unmap freed a table");
        }

        ulong expectedSum = 0;
        foreach (ulong iova in _iovas)
            expectedSum += Layout.ExpectedPa(0, iova) + Layout.PageSize;
        ulong invalidations = Mode switch
        {
            InvalidationMode.Immediate => Ops,
            InvalidationMode.GatherSync16 => Ops / GatherPages,
            _ => Ops / FlushQueueSize,
        };
        // The first period warms the TLB's sets and the JIT up; the second must look the same.
        for (int period = 0; period < 2; period++)
        {
            SmmuStats before = smmu.Stats;
            Check.That(MapTranslateUnmap() == expectedSum, "a translation gave the wrong PA or an unmap the wrong size");
            SmmuStats after = smmu.Stats;
            Check.That(after.Translations - before.Translations == Ops && after.TlbMisses - before.TlbMisses == Ops
                       && after.Faults == before.Faults, "every read must miss (nothing stale cached) and translate");
            Check.That(after.TlbInvalidations - before.TlbInvalidations == invalidations,
                       $"{Mode}: {after.TlbInvalidations - before.TlbInvalidations} invalidations per period, expected {invalidations}");
            Check.That(after.TlbEntriesInvalidated - before.TlbEntriesInvalidated == Ops, "every invalidation must remove the read's entry");
            Check.That(after.PtPagesInUse == tables, "the period changed the tables in use");
            Check.That(smmu.QueuedSyncs == 0 && _gather.IsEmpty, "the period left an invalidation pending");
            CheckCorrectDriver(after);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        // Every invocation was a correct driver's: nothing stale, no missed sync, no wasted invalidation.
        CheckCorrectDriver(_testbed.Smmu.Stats);
        _testbed.Dispose();
    }

    /// <summary>One period: map, read and unmap each of the 1024 IOVAs; every invalidation done at the end. Returns the sum of the PAs and bytes unmapped.</summary>
    [Benchmark(OperationsPerInvoke = Ops)]
    public ulong MapTranslateUnmap()
    {
        SmmuInstance smmu = _testbed.Smmu;
        DomainHandle domain = _testbed.Base;
        ulong[] iovas = _iovas;
        InvalidationMode mode = Mode;
        ulong sum = 0;
        for (int op = 0; op < iovas.Length; op++)
        {
            ulong iova = iovas[op];
            smmu.MapPages(domain, iova, Layout.ExpectedPa(0, iova), Layout.PageSize, 1, ReadWrite, out _);
            smmu.Translate(Layout.StreamId, iova, SmmuAccess.Read, out ulong pa);
            sum += pa;
            if (mode == InvalidationMode.Immediate)
            {
                sum += (ulong)smmu.UnmapPages(domain, iova, Layout.PageSize, 1);
            }
            else
            {
                sum += (ulong)smmu.UnmapPages(domain, iova, Layout.PageSize, 1, ref _gather);
                if (mode == InvalidationMode.LazyFlush256 || op % GatherPages == GatherPages - 1)
                    smmu.IotlbSync(domain, ref _gather);
            }
        }
        return sum;
    }

    private static ulong RegionIova(int region) => Layout.IovaBase + (ulong)region * Layout.BlockSize;

    private void CheckCorrectDriver(in SmmuStats stats) =>
        Check.That(stats.StaleTranslations == 0 && stats.MissedSyncs == 0 && stats.NeedlessInvalidations == 0,
                   $"sanitizer: {stats.StaleTranslations} stale translations, {stats.MissedSyncs} missed syncs, "
                   + $"{stats.NeedlessInvalidations} needless invalidations");

    /// <summary>The zero counts mean something: on a throwaway instance, a read after an unmap but before its sync is reported.</summary>
    private static void CheckSanitizerSeesDmaAfterUnmap(in SmmuConfig config)
    {
        using var testbed = new Testbed(config);
        SmmuInstance smmu = testbed.Smmu;
        var gather = new SmmuGather();
        Check.Ok(smmu.MapPages(testbed.Base, Layout.IovaBase, Layout.ExpectedPa(0, Layout.IovaBase), Layout.PageSize, 1, ReadWrite, out _), "map_pages");
        Check.Ok(smmu.Translate(Layout.StreamId, Layout.IovaBase, SmmuAccess.Read, out _), "translate");
        Check.That(smmu.UnmapPages(testbed.Base, Layout.IovaBase, Layout.PageSize, 1, ref gather) == (long)Layout.PageSize, "unmap_pages");
        smmu.Translate(Layout.StreamId, Layout.IovaBase, SmmuAccess.Read, out _);
        Check.That(smmu.Stats.StaleTranslations == 1, "the sanitizer missed a read between unmap and sync");
        Check.Ok(smmu.IotlbSync(testbed.Base, ref gather), "iotlb_sync");
        Check.Ok(smmu.FlushQueue(), "flush queue");
        Check.That(smmu.Translate(Layout.StreamId, Layout.IovaBase, SmmuAccess.Read, out _) == SmmuError.Fault, "the synced unmap still translates");
    }
}

/// <summary>
/// A TLB hit with the sanitizer off and on: the hit path must cost the same (issue 12: "off, it costs
/// nothing on the translate path"). As <see cref="TranslateHitBenchmarks"/> (1024 x 8): the TLB is full of
/// the base domain's pages, 4096 reads in random order all hit. In both configurations the last 16 pages
/// are unmapped into a gather that stays pending, so with the sanitizer on their entries are watched (a hit
/// on them would take the slow path); the reads go to the other 1008 pages, so the measured hits are
/// unwatched ones, while watched entries sit in the same sets.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class DeferredMaintenanceHitBenchmarks
{
    private const int Translations = 4096;
    private const int Entries = 1024;
    private const int Pending = 16;

    private Testbed _testbed = null!;
    private ulong[] _iovas = null!;
    private SmmuGather _gather = new();

    [Params(false, true)]
    public bool Sanitizer { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _testbed = new Testbed(Layout.Config(flags: Sanitizer ? SmmuConfigFlags.SanitizeTlb : SmmuConfigFlags.None));
        SmmuInstance smmu = _testbed.Smmu;
        _testbed.MapPages(_testbed.Base, 0, Entries);
        _testbed.Touch(AccessPattern.Sequential(Entries));
        Check.That(smmu.TlbForTests.ValidEntries() == Entries, "the TLB is not full");
        ulong pendingIova = Layout.IovaBase + (Entries - Pending) * Layout.PageSize;
        Check.That(smmu.UnmapPages(_testbed.Base, pendingIova, Layout.PageSize, Pending, ref _gather) == Pending * (long)Layout.PageSize,
                   "unmap_pages into the gather");
        Check.That(smmu.TlbForTests.ValidEntries() == Entries, "a gathered unmap invalidated");
        int watched = 0;
        for (int entry = 0; entry < Entries; entry++)
            watched += smmu.TlbForTests.EntryAt(entry).Info == 0 ? 1 : 0;   // a watched entry's rights are parked
        Check.That(watched == (Sanitizer ? Pending : 0), $"{watched} watched entries");

        _iovas = AccessPattern.Random(Translations, Entries - Pending);
        SmmuStats before = smmu.Stats;
        _testbed.Touch(_iovas);
        SmmuStats after = smmu.Stats;
        Check.That(after.TlbHits - before.TlbHits == Translations && after.TlbMisses == before.TlbMisses, "the TLB-hit working set missed");
        Check.That(after.StaleTranslations == 0, "a read hit a watched entry");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        Check.Ok(_testbed.Smmu.IotlbSync(_testbed.Base, ref _gather), "iotlb_sync");
        Check.That(_testbed.Smmu.Stats is { StaleTranslations: 0, MissedSyncs: 0 }, "the sanitizer reported the hits");
        _testbed.Dispose();
    }

    [Benchmark(OperationsPerInvoke = Translations)]
    public ulong Translate() => _testbed.TranslateEach(_iovas);
}
