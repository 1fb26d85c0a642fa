using static Smmu.Core.Tests.TestSmmu;

namespace Smmu.Core.Tests;

/// <summary>
/// SPEC §3: translate, batch translate, switch, map, unmap, every invalidation and the stats allocate
/// exactly 0 bytes on the managed heap in steady state. Each operation is warmed up (JIT, first-use
/// initialisation, table pages) and then run many times between two reads of
/// <see cref="GC.GetAllocatedBytesForCurrentThread"/>; the counters are checked too, so that an
/// operation that silently did nothing cannot pass. The measurements run alone (<see cref="RunsAlone"/>).
/// </summary>
[Collection(RunsAlone.Name)]
public class AllocationTests
{
    private const int Warmup = 300;
    private const int Iterations = 2000;

    /// <summary>
    /// Runs <paramref name="operation"/> (which returns a negative value on failure) warm, then measures;
    /// returns how many times it ran.
    /// No assertion inside the measured loop: xunit's messages would allocate.
    /// <para>A garbage collection during the window (set off by tests on other threads; a background
    /// collection's pauses show only in the total pause time, not in the collection count) retires this
    /// thread's allocation context, and <see cref="GC.GetAllocatedBytesForCurrentThread"/> then jumps by the
    /// context's unused remainder (a few KiB) although nothing was allocated. So a window in which a
    /// collection ran proves nothing either way and is measured again; a window without one must show
    /// exactly 0 bytes.</para>
    /// </summary>
    private static int AssertAllocatesNothing(Func<long> operation, string what)
    {
        const int Attempts = 20;
        int failures = 0, calls = Warmup;
        for (int i = 0; i < Warmup; i++)
            failures += operation() < 0 ? 1 : 0;
        for (int attempt = 0; attempt < Attempts; attempt++)
        {
            int collections = GC.CollectionCount(0);
            TimeSpan paused = GC.GetTotalPauseDuration();
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < Iterations; i++)
                failures += operation() < 0 ? 1 : 0;
            calls += Iterations;
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (GC.CollectionCount(0) != collections || GC.GetTotalPauseDuration() != paused)
                continue;   // a collection (or a background collection's pause) ran meanwhile: the count is not exact
            Assert.Equal(0, failures);
            Assert.True(allocated == 0, $"{what}: {allocated} bytes allocated over {Iterations} calls");
            return calls;
        }
        Assert.Fail($"{what}: a garbage collection ran during each of {Attempts} measurements");
        return calls;
    }

    /// <summary>A base and two dynamic domains, each with 64 pages, a 2 MiB block and a 1 GiB block mapped.</summary>
    private static (SmmuInstance Smmu, DomainHandle[] Domains) Setup(SmmuConfigFlags flags = SmmuConfigFlags.None, uint tlbEntries = 1024)
    {
        SmmuInstance smmu = Create(c => c with { Flags = flags, TlbEntries = tlbEntries });
        DomainHandle baseDomain = smmu.AttachBase();
        DomainHandle[] domains = [baseDomain, smmu.AttachDynamic(baseDomain), smmu.AttachDynamic(baseDomain)];
        for (int k = 0; k < domains.Length; k++)
        {
            Ok(smmu.Map(domains[k], Iova, Pa + (ulong)k * 0x1000_0000, 64 * 0x1000, ReadWrite));
            Ok(smmu.Map(domains[k], 0x8000_0000, Pa + (ulong)k * 0x1000_0000 + 0x20_0000, 0x20_0000, ReadWrite));
            Ok(smmu.Map(domains[k], 0x1_0000_0000, 0x40_0000_0000 + (ulong)k * 0x4000_0000, 0x4000_0000, ReadWrite));
        }
        return (smmu, domains);
    }

    [Fact]
    public void TranslateHitsAllocateNothing()
    {
        var (smmu, _) = Setup();
        using (smmu)
        {
            int i = 0;
            AssertAllocatesNothing(() => smmu.Translate(Sid, Iova + (ulong)(i++ % 64) * 0x1000 + 8, SmmuAccess.Read, out _), "translate (hit)");
            Assert.True(smmu.Stats.TlbHits >= Iterations);
        }
    }

    [Fact]
    public void TranslateMissesAndBlockHitsAllocateNothing()
    {
        // A 16-entry TLB and 64 pages in sequence: every page translation misses and walks.
        var (smmu, _) = Setup(tlbEntries: 16);
        using (smmu)
        {
            int i = 0;
            Ok(smmu.ResetStats());
            AssertAllocatesNothing(() =>
            {
                int n = i++;
                int rc = smmu.Translate(Sid, Iova + (ulong)(n % 64) * 0x1000, SmmuAccess.Write, out _);
                int rc2 = smmu.Translate(Sid, 0x8000_0000 + (ulong)(n % 512) * 0x1000, SmmuAccess.Read, out _);
                int rc3 = smmu.Translate(Sid, 0x1_0000_0000 + (ulong)(n % 512) * 0x20_0000, SmmuAccess.Read, out _);
                return rc | rc2 | rc3;
            }, "translate (miss, walk, fill)");
            Assert.True(smmu.Stats.TlbMisses >= Warmup + Iterations);
        }
    }

    [Fact]
    public void TranslateFaultsWithoutAHandlerAllocateNothing()
    {
        var (smmu, _) = Setup();
        using (smmu)
        {
            AssertAllocatesNothing(() =>
            {
                int rc = smmu.Translate(Sid, 0x7000_0000, SmmuAccess.Read, out _);
                return rc == SmmuError.Fault ? smmu.ClearFault(0) : -1;
            }, "translate (fault)");
            Assert.True(smmu.Stats.Faults >= Iterations);
        }
    }

    [Fact]
    public void TranslateBatchAllocatesNothingOnHitsAndMisses()
    {
        var (smmu, _) = Setup(tlbEntries: 16);
        using (smmu)
        {
            ulong[] iovas = new ulong[64], pas = new ulong[64];
            for (int i = 0; i < iovas.Length; i++)
                iovas[i] = (i % 3) switch
                {
                    0 => Iova + (ulong)i * 0x1000,                 // pages: more than the TLB holds, so misses
                    1 => 0x8000_0000 + (ulong)i * 0x1000,           // one 2 MiB block: hits
                    _ => 0x1_0000_0000 + (ulong)i * 0x10_0000,      // one 1 GiB block: hits
                };
            Ok(smmu.ResetStats());
            AssertAllocatesNothing(() =>
            {
                int rc = smmu.TranslateBatch(Sid, iovas, pas, SmmuAccess.Read, out int done);
                return rc == SmmuError.Ok && done == iovas.Length ? 0 : -1;
            }, "translate batch");
            SmmuStats stats = smmu.Stats;
            Assert.True(stats.TlbMisses >= Iterations && stats.TlbHits >= Iterations);
        }
    }

    [Theory]
    [InlineData(SmmuConfigFlags.None)]
    [InlineData(SmmuConfigFlags.NoAsidTagging)]
    public void SwitchDomainAllocatesNothing(SmmuConfigFlags flags)
    {
        var (smmu, domains) = Setup(flags);
        using (smmu)
        {
            int i = 0;
            int calls = AssertAllocatesNothing(() =>
            {
                int rc = smmu.SwitchDomain(domains[i++ % domains.Length]);
                return rc | smmu.Translate(Sid, Iova, SmmuAccess.Read, out _);
            }, $"switch ({flags})");
            SmmuStats stats = smmu.Stats;
            Assert.Equal((ulong)calls, stats.Switches);
            if (flags == SmmuConfigFlags.NoAsidTagging)
                Assert.True(stats.TlbEntriesInvalidated >= Iterations);
        }
    }

    [Fact]
    public void MapAndUnmapAllocateNothing()
    {
        var (smmu, domains) = Setup();
        using (smmu)
        {
            DomainHandle d = domains[1];
            int i = 0;
            AssertAllocatesNothing(() =>
            {
                // Fresh table pages each time (a new 2 MiB region), pages and a block, then everything unmapped.
                ulong region = 0x2_0000_0000 + (ulong)(i++ % 8) * 0x40_0000;
                int rc = smmu.Map(d, region, Pa, 0x4000, ReadWrite);
                rc |= smmu.Map(d, region + 0x20_0000, Pa + 0x20_0000, 0x20_0000, SmmuProt.Read);
                long unmapped = smmu.Unmap(d, region, 0x40_0000);
                return unmapped == 0x20_4000 ? rc : -1;
            }, "map + unmap");
            Assert.Equal(SmmuError.NoEntry, smmu.IovaToPhys(d, 0x2_0000_0000, out _));
        }
    }

    [Fact]
    public void UnmapThatSplitsABlockAllocatesNothing()
    {
        var (smmu, domains) = Setup();
        using (smmu)
        {
            DomainHandle d = domains[0];
            ulong pagesInUse = smmu.Stats.PtPagesInUse;
            AssertAllocatesNothing(() =>
            {
                int rc = smmu.Map(d, 0x3_0000_0000, Pa, 0x20_0000, ReadWrite);
                smmu.Translate(Sid, 0x3_0000_5000, SmmuAccess.Read, out _);   // cache the block: the split must invalidate it
                long split = smmu.Unmap(d, 0x3_0000_5000, 0x1000);             // block → table of pages minus one
                long rest = smmu.Unmap(d, 0x3_0000_0000, 0x20_0000);
                return split == 0x1000 && rest == 0x1F_F000 ? rc : -1;
            }, "unmap with split");
            Assert.Equal(pagesInUse, smmu.Stats.PtPagesInUse);
        }
    }

    [Fact]
    public void EveryTlbInvalidationAllocatesNothing()
    {
        var (smmu, domains) = Setup();
        using (smmu)
        {
            uint asid = smmu.AsidOf(domains[0]);
            void Refill()
            {
                for (int p = 0; p < 8; p++)
                    smmu.Translate(Sid, Iova + (ulong)p * 0x1000, SmmuAccess.Read, out _);
                smmu.Translate(Sid, 0x8000_0000, SmmuAccess.Read, out _);
            }
            AssertAllocatesNothing(() => { Refill(); return smmu.TlbInvalidateAll(); }, "invalidate all");
            AssertAllocatesNothing(() => { Refill(); return smmu.TlbInvalidateAsid(asid); }, "invalidate ASID");
            AssertAllocatesNothing(() => { Refill(); return smmu.TlbInvalidateVa(asid, Iova + 0x1000, 0x2000); }, "invalidate ASID+VA (probe)");
            AssertAllocatesNothing(() => { Refill(); return smmu.TlbInvalidateVa(asid, 0, 0x1_0000_0000); }, "invalidate ASID+VA (sweep)");
            AssertAllocatesNothing(() => { Refill(); return smmu.TlbInvalidateVaAll(Iova, 0x1000); }, "invalidate VA, all ASIDs (probe)");
            AssertAllocatesNothing(() => { Refill(); return smmu.TlbInvalidateVaAll(0, 0x1_0000_0000); }, "invalidate VA, all ASIDs (sweep)");
            Assert.True(smmu.Stats.TlbEntriesInvalidated >= 6UL * Iterations);
        }
    }

    [Fact]
    public void StatsAllocateNothing()
    {
        var (smmu, _) = Setup();
        using (smmu)
        {
            AssertAllocatesNothing(() => smmu.GetStats(out SmmuStats stats) | (stats.Size == SmmuStats.CurrentSize ? 0 : -1), "get stats");
            AssertAllocatesNothing(() => (long)smmu.Stats.PtPagesInUse - 1, "stats property");
            AssertAllocatesNothing(() => smmu.ResetStats(), "reset stats");
        }
    }
}
