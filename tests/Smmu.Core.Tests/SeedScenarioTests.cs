using Smmu.Core;
using static Smmu.Core.Tests.TestSmmu;

namespace Smmu.Core.Tests;

/// <summary>The seed's fn(), line for line, checking that each use_domain translates through its own tables.</summary>
public class SeedScenarioTests
{
    [Fact]
    public void SeedExampleRunsAsWrittenAndTranslatesThroughTheActiveDomain()
    {
        using var smmu = Create();
        // base_domain = iommu_domain_alloc(bus); dyn_domain1 = ...; dyn_domain2 = ...;
        Ok(smmu.DomainAlloc(out DomainHandle baseDomain));
        Ok(smmu.DomainAlloc(out DomainHandle dyn1));
        Ok(smmu.DomainAlloc(out DomainHandle dyn2));
        // iommu_attach_device(base_domain, dev);
        Ok(smmu.AttachDevice(baseDomain, Sid));
        Ok(smmu.GetContextBank(baseDomain, out uint cb));
        // iommu_domain_set_attr(dyn_domainN, DOMAIN_ATTR_DYNAMIC, &dynamic) (+ the bank, as the Qualcomm driver needs)
        Ok(smmu.SetDynamic(dyn1, true));
        Ok(smmu.SetDynamic(dyn2, true));
        Ok(smmu.SetContextBank(dyn1, cb));
        Ok(smmu.SetContextBank(dyn2, cb));
        // iommu_attach_device(dyn_domainN, dev);
        Ok(smmu.AttachDevice(dyn1, Sid));
        Ok(smmu.AttachDevice(dyn2, Sid));
        Assert.NotEqual(smmu.AsidOf(dyn1), smmu.AsidOf(dyn2));
        Assert.NotEqual(smmu.AsidOf(baseDomain), smmu.AsidOf(dyn1));

        for (int round = 0; round < 4; round++)
        {
            ulong pa1 = Pa + (ulong)round * 0x10_0000, pa2 = Pa + 0x1000_0000 + (ulong)round * 0x10_0000;
            // iommu_map(dyn_domain1, ...); iommu_map(dyn_domain2, ...);
            Ok(smmu.Map(dyn1, Iova, pa1, 0x4000, ReadWrite));
            Ok(smmu.Map(dyn2, Iova, pa2, 0x4000, ReadWrite));
            // use_domain(dyn_domain1, job1);
            Ok(smmu.SwitchDomain(dyn1));
            Assert.Equal(pa1 + 0x1234, smmu.TranslateOk(Iova + 0x1234));
            // use_domain(dyn_domain2, job2);
            Ok(smmu.SwitchDomain(dyn2));
            Assert.Equal(pa2 + 0x1234, smmu.TranslateOk(Iova + 0x1234));
            // iommu_unmap(dyn_domainN, ...);
            Assert.Equal(0x4000L, smmu.Unmap(dyn1, Iova, 0x4000));
            Assert.Equal(0x4000L, smmu.Unmap(dyn2, Iova, 0x4000));
            Fails(SmmuError.Fault, smmu.Translate(Sid, Iova, SmmuAccess.Read, out _));
            Ok(smmu.ClearFault(cb));
        }
        // iommu_detach_device(dyn_domain2, dev); ... (dyn_domain2 is still the active one)
        Ok(smmu.DetachDevice(dyn2, Sid));
        Ok(smmu.DetachDevice(dyn1, Sid));
        Ok(smmu.DetachDevice(baseDomain, Sid));
        Ok(smmu.DomainFree(dyn1));
        Ok(smmu.DomainFree(dyn2));
        Ok(smmu.DomainFree(baseDomain));
        Ok(smmu.GetStats(out SmmuStats stats));
        Assert.Equal(0UL, stats.PtPagesInUse);
    }
}
