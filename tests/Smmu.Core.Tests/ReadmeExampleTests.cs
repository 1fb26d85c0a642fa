namespace Smmu.Core.Tests;

/// <summary>The C# example of README.md, kept in step with it: if this changes, change the README too.</summary>
public class ReadmeExampleTests
{
    [Fact]
    public void TheReadmeSeedScenarioRunsAndTranslatesThroughEachDomain()
    {
        var codes = new List<int>();
        int Ok(int rc) { codes.Add(rc); return rc; }

        using var smmu = SmmuInstance.Create(SmmuConfig.Default);
        const uint dev = 0;

        Ok(smmu.DomainAlloc(out var baseDomain));
        Ok(smmu.DomainAlloc(out var dyn1));
        Ok(smmu.DomainAlloc(out var dyn2));
        Ok(smmu.AttachDevice(baseDomain, dev));
        Ok(smmu.GetContextBank(baseDomain, out uint cb));
        foreach (var d in new[] { dyn1, dyn2 })
        {
            Ok(smmu.SetDynamic(d, true));
            Ok(smmu.SetContextBank(d, cb));
            Ok(smmu.AttachDevice(d, dev));
        }

        Ok(smmu.Map(dyn1, 0x1000_0000, 0x8_0000_0000, 0x10000, SmmuProt.Read | SmmuProt.Write));
        Ok(smmu.Map(dyn2, 0x1000_0000, 0x9_0000_0000, 0x10000, SmmuProt.Read | SmmuProt.Write));

        Ok(smmu.SwitchDomain(dyn1));
        Ok(smmu.Translate(dev, 0x1000_0040, SmmuAccess.Read, out ulong pa1));
        Ok(smmu.SwitchDomain(dyn2));
        Ok(smmu.Translate(dev, 0x1000_0040, SmmuAccess.Read, out ulong pa2));

        Assert.Equal(0x10000L, smmu.Unmap(dyn1, 0x1000_0000, 0x10000));
        Assert.Equal(0x10000L, smmu.Unmap(dyn2, 0x1000_0000, 0x10000));
        Assert.Equal(SmmuError.Busy, smmu.DetachDevice(baseDomain, dev));   // the README's comment: EBUSY first
        Ok(smmu.DetachDevice(dyn2, dev));
        Ok(smmu.DetachDevice(dyn1, dev));
        Ok(smmu.DetachDevice(baseDomain, dev));

        Assert.All(codes, rc => Assert.Equal(SmmuError.Ok, rc));
        Assert.Equal(0x8_0000_0040UL, pa1);
        Assert.Equal(0x9_0000_0040UL, pa2);
    }
}
