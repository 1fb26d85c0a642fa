using static Smmu.Core.Tests.TestSmmu;

namespace Smmu.Core.Tests;

/// <summary>
/// GPU processes map their buffers at the same IOVAs. The TLB salts each ASID's set index, so more
/// processes than there are ways stay warm at once: without the salt, every process's page p would
/// compete for set p and only Ways of them would survive a round of switches.
/// </summary>
public class SetSaltTests
{
    [Fact]
    public void MoreDomainsThanWaysSharingIovasStayWarmAcrossSwitches()
    {
        const int domains = 32, pages = 16;   // 512 entries in a 1024 × 8 TLB, 4 × more domains than ways
        using var smmu = Create(c => c with { TlbEntries = 1024, TlbWays = 8 });
        DomainHandle baseDomain = smmu.AttachBase();
        var dynamics = new DomainHandle[domains];
        for (int k = 0; k < domains; k++)
        {
            dynamics[k] = smmu.AttachDynamic(baseDomain);
            Ok(smmu.Map(dynamics[k], Iova, Pa + (ulong)k * 0x100_0000, pages * 0x1000, ReadWrite));
        }
        void Round()
        {
            for (int k = 0; k < domains; k++)
            {
                Ok(smmu.SwitchDomain(dynamics[k]));
                for (int p = 0; p < pages; p++)
                    Assert.Equal(Pa + (ulong)k * 0x100_0000 + (ulong)p * 0x1000 + 8, smmu.TranslateOk(Iova + (ulong)p * 0x1000 + 8));
            }
        }

        Round();
        Assert.Equal((ulong)(domains * pages), smmu.Stats.TlbMisses);
        Round();
        Round();
        Assert.Equal((ulong)(domains * pages), smmu.Stats.TlbMisses);
    }

    [Fact]
    public void OneAsidsPagesMapToDistinctSets()
    {
        using var smmu = Create(c => c with { TlbEntries = 256, TlbWays = 4 });
        var tlb = smmu.TlbForTests;
        foreach (ushort asid in new ushort[] { 1, 2, 77, 65535 })
        {
            var sets = Enumerable.Range(0, tlb.Sets).Select(p => tlb.SetOf(Iova + (ulong)p * 0x1000, asid, 0)).ToHashSet();
            Assert.Equal(tlb.Sets, sets.Count);
        }
        Assert.NotEqual(tlb.SetOf(Iova, 1, 0), tlb.SetOf(Iova, 2, 0));
    }
}
