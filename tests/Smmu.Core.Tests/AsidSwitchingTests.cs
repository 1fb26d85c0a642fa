using static Smmu.Core.Tests.TestSmmu;

namespace Smmu.Core.Tests;

/// <summary>
/// ASID tagging, the seed's goal: with a working set that fits the TLB, switching between dynamic
/// domains costs no TLB misses once warm; with <see cref="SmmuConfigFlags.NoAsidTagging"/> every
/// switch costs one miss per page touched. Run at every kernel width.
/// </summary>
[Trait("Category", "Simd")]
public class AsidSwitchingTests
{
    /// <summary>8 domains × 96 pages at the same IOVAs: sets 0..95 of a 1024×8 TLB hold exactly 8 entries each.</summary>
    private const int Domains = 8;
    private const int Pages = 96;
    private const int Rounds = 10;
    private const int Switches = Rounds * Domains;

    public static TheoryData<SimdWidth> Widths => new() { SimdWidth.Scalar, SimdWidth.Vector128, SimdWidth.Vector256, SimdWidth.Vector512 };

    private static ulong PaOf(int domain, int page) => Pa + (ulong)domain * 0x100_0000 + (ulong)page * 0x1000;

    private static (SmmuInstance Smmu, DomainHandle[] Dynamics) Setup(SimdWidth width, SmmuConfigFlags flags)
    {
        SmmuInstance smmu = Create(c => c with { TlbEntries = 1024, TlbWays = 8, Flags = flags }, width);
        DomainHandle baseDomain = smmu.AttachBase();
        var dynamics = new DomainHandle[Domains];
        for (int k = 0; k < Domains; k++)
        {
            dynamics[k] = smmu.AttachDynamic(baseDomain);
            for (int p = 0; p < Pages; p++)
                Ok(smmu.Map(dynamics[k], Iova + (ulong)p * 0x1000, PaOf(k, p), 0x1000, ReadWrite));
        }
        return (smmu, dynamics);
    }

    /// <summary>Switches to each domain in turn and touches each of its pages twice (two offsets), checking the PA.</summary>
    private static void RoundRobin(SmmuInstance smmu, DomainHandle[] dynamics, int rounds)
    {
        for (int round = 0; round < rounds; round++)
        {
            for (int k = 0; k < dynamics.Length; k++)
            {
                Ok(smmu.SwitchDomain(dynamics[k]));
                for (int p = 0; p < Pages; p++)
                {
                    ulong iova = Iova + (ulong)p * 0x1000;
                    Assert.Equal(PaOf(k, p) + 0x10, smmu.TranslateOk(iova + 0x10));
                    Assert.Equal(PaOf(k, p) + 0xFF0, smmu.TranslateOk(iova + 0xFF0, SmmuAccess.Write));
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void TaggedSwitchingAfterWarmUpCostsNoMisses(SimdWidth width)
    {
        var (smmu, dynamics) = Setup(width, SmmuConfigFlags.None);
        using (smmu)
        {
            RoundRobin(smmu, dynamics, 1);
            Assert.Equal(Domains * Pages, smmu.TlbForTests.ValidEntries());
            Ok(smmu.ResetStats());

            RoundRobin(smmu, dynamics, Rounds);

            SmmuStats stats = smmu.Stats;
            Assert.Equal(0UL, stats.TlbMisses);
            Assert.Equal(0UL, stats.Walks);
            Assert.Equal((ulong)(Switches * Pages * 2), stats.TlbHits);
            Assert.Equal((ulong)Switches, stats.Switches);
            Assert.Equal(0UL, stats.TlbInvalidations);
            Assert.Equal(0UL, stats.TlbEntriesInvalidated);
            Assert.Equal(Domains * Pages, smmu.TlbForTests.ValidEntries());
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void TaggedSwitchingAfterWarmUpCostsNoMissesInBatches(SimdWidth width)
    {
        var (smmu, dynamics) = Setup(width, SmmuConfigFlags.None);
        using (smmu)
        {
            RoundRobin(smmu, dynamics, 1);
            Ok(smmu.ResetStats());
            ulong[] iovas = new ulong[Pages], pas = new ulong[Pages];
            for (int p = 0; p < Pages; p++)
                iovas[p] = Iova + (ulong)p * 0x1000 + 0x123;
            for (int round = 0; round < Rounds; round++)
            {
                for (int k = 0; k < Domains; k++)
                {
                    Ok(smmu.SwitchDomain(dynamics[k]));
                    Ok(smmu.TranslateBatch(Sid, iovas, pas, SmmuAccess.Read, out int done));
                    Assert.Equal(Pages, done);
                    for (int p = 0; p < Pages; p++)
                        Assert.Equal(PaOf(k, p) + 0x123, pas[p]);
                }
            }
            Assert.Equal(0UL, smmu.Stats.TlbMisses);
            Assert.Equal((ulong)(Switches * Pages), smmu.Stats.TlbHits);
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void WithoutAsidTaggingEverySwitchCostsOneMissPerPageTouched(SimdWidth width)
    {
        var (smmu, dynamics) = Setup(width, SmmuConfigFlags.NoAsidTagging);
        using (smmu)
        {
            RoundRobin(smmu, dynamics, 1);
            // Only the active domain's entries survive the flushes.
            Assert.Equal(Pages, smmu.TlbForTests.ValidEntries());
            Ok(smmu.ResetStats());

            RoundRobin(smmu, dynamics, Rounds);

            SmmuStats stats = smmu.Stats;
            Assert.Equal((ulong)(Switches * Pages), stats.TlbMisses);        // the first touch of each page
            Assert.Equal((ulong)(Switches * Pages), stats.TlbHits);          // the second touch
            Assert.Equal((ulong)Switches, stats.Switches);
            Assert.Equal((ulong)Switches, stats.TlbInvalidations);           // one flush per switch
            Assert.Equal((ulong)(Switches * Pages), stats.TlbEntriesInvalidated);
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void WithoutAsidTaggingEvenASwitchToTheActiveDomainFlushesIt(SimdWidth width)
    {
        var (smmu, dynamics) = Setup(width, SmmuConfigFlags.NoAsidTagging);
        using (smmu)
        {
            RoundRobin(smmu, [dynamics[0]], 1);
            Ok(smmu.ResetStats());
            Ok(smmu.SwitchDomain(dynamics[0]));
            Assert.Equal(0, smmu.TlbForTests.ValidEntries());
            Assert.Equal((ulong)Pages, smmu.Stats.TlbEntriesInvalidated);
        }
    }

    [Fact]
    public void ASwitchRepointsTheContextBankAndLeavesTheTlbAlone()
    {
        var (smmu, dynamics) = Setup(SimdSupport.Widest, SmmuConfigFlags.None);
        using (smmu)
        {
            RoundRobin(smmu, dynamics, 1);
            var before = TlbTests.Image(smmu.TlbForTests);
            Ok(smmu.SetProcId(smmu.Alloc(), 1));   // unrelated: no effect
            Ok(smmu.SwitchDomain(dynamics[3]));
            Ok(smmu.GetContextBankState(0, out ContextBankState state));
            Ok(smmu.GetTtbr0(dynamics[3], out ulong ttbr0));
            Assert.Equal(dynamics[3], state.ActiveDomain);
            Assert.Equal(smmu.AsidOf(dynamics[3]), state.Asid);
            Assert.Equal(ttbr0, state.Ttbr0);
            Assert.Equal(before, TlbTests.Image(smmu.TlbForTests));
        }
    }

    [Fact]
    public void SwitchingToAnUnattachedDomainIsNoDeviceAndABadHandleIsBadHandleWithNothingChanged()
    {
        var (smmu, dynamics) = Setup(SimdSupport.Widest, SmmuConfigFlags.None);
        using (smmu)
        {
            Ok(smmu.SwitchDomain(dynamics[1]));
            DomainHandle neverAttached = smmu.Alloc();
            DomainHandle detached = dynamics[7];
            Ok(smmu.DetachDevice(detached, Sid));
            DomainHandle freed = smmu.Alloc();
            Ok(smmu.DomainFree(freed));
            Ok(smmu.GetContextBankState(0, out ContextBankState bankBefore));
            SmmuStats statsBefore = smmu.Stats;

            Fails(SmmuError.NoDevice, smmu.SwitchDomain(neverAttached));
            Fails(SmmuError.NoDevice, smmu.SwitchDomain(detached));
            Fails(SmmuError.BadHandle, smmu.SwitchDomain(freed));
            Fails(SmmuError.BadHandle, smmu.SwitchDomain(DomainHandle.None));
            Fails(SmmuError.BadHandle, smmu.SwitchDomain(new DomainHandle(freed.Value ^ 0x0010_0000)));   // forged generation

            Ok(smmu.GetContextBankState(0, out ContextBankState bankAfter));
            Assert.Equal(bankBefore, bankAfter);
            Assert.Equal(dynamics[1], bankAfter.ActiveDomain);
            Assert.Equal(statsBefore, smmu.Stats);
        }
    }

    [Fact]
    public void SwitchCountsEverySuccessfulSwitchIncludingRepeats()
    {
        var (smmu, dynamics) = Setup(SimdSupport.Widest, SmmuConfigFlags.None);
        using (smmu)
        {
            Ok(smmu.ResetStats());
            Ok(smmu.SwitchDomain(dynamics[0]));
            Ok(smmu.SwitchDomain(dynamics[0]));
            Ok(smmu.SwitchDomain(dynamics[5]));
            Fails(SmmuError.BadHandle, smmu.SwitchDomain(DomainHandle.None));
            Assert.Equal(3UL, smmu.Stats.Switches);
        }
    }
}
