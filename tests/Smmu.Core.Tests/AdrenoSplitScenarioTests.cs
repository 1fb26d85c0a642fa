using Smmu.Bench.Seed;
using static Smmu.Core.Tests.TestSmmu;

namespace Smmu.Core.Tests;

/// <summary>
/// The seed command's Adreno split scenario (bench/Seed/AdrenoSplitScenario.cs): TTBR1 global buffers in a
/// split base domain, one dynamic domain per GPU process in TTBR0. Each step's own checks throw on the first
/// difference; these tests also assert the numbers the command prints.
/// </summary>
public class AdrenoSplitScenarioTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TtbrZeroIsDisabledUntilAProcessRunsAndSwitchesNeverTouchTtbrOne(bool globalMappings)
    {
        using var scenario = new AdrenoSplitScenario(globalMappings);
        AdrenoSplitScenario.SplitBasics basics = scenario.CheckSplitBasics();

        Assert.Equal((ulong)scenario.BaseAsid, basics.Ttbr1 >> 48);
        foreach (SmmuFault fault in new[] { basics.Epd0Fault, basics.NeitherHalfFault })
        {
            Assert.Equal(FaultType.Translation, fault.Type);
            Assert.Equal(0u, fault.Level);
            Assert.Equal(1u, fault.Stage);
            Assert.Equal(scenario.Base, fault.ActiveDomain);
        }
        Assert.Equal(globalMappings, (basics.GlobalLeaf & DescriptorWalk.NotGlobal) == 0);
        Ok(scenario.Smmu.GetTtbr0(scenario.ProcessDomains[0], out ulong ttbr0));
        Assert.Equal(ttbr0, basics.SwitchedTtbr0);
    }

    [Fact]
    public void GlobalMappingsCostNoMissPerSwitchAndProcessBuffersStayWarm()
    {
        using var scenario = new AdrenoSplitScenario(globalMappings: true);
        AdrenoSplitScenario.SwitchCost cost = scenario.MeasureSwitching();

        Assert.Equal((ulong)AdrenoSplitScenario.GlobalPages, cost.FirstRoundGlobalMisses);   // the first job only
        Assert.Equal((ulong)(AdrenoSplitScenario.Processes * AdrenoSplitScenario.ProcessPages), cost.FirstRoundProcessMisses);
        Assert.Equal(0, cost.GlobalMissesPerSwitch);
        Assert.Equal(0, cost.ProcessMissesPerSwitch);
        Assert.Equal(0UL, cost.Invalidations);
    }

    [Fact]
    public void WithoutGlobalMappingsEveryProcessMissesTheGlobalBuffersAgain()
    {
        using var global = new AdrenoSplitScenario(globalMappings: true);
        using var tagged = new AdrenoSplitScenario(globalMappings: false);
        AdrenoSplitScenario.SwitchCost withGlobals = global.MeasureSwitching();
        AdrenoSplitScenario.SwitchCost without = tagged.MeasureSwitching();

        Assert.Equal((ulong)(AdrenoSplitScenario.Processes * AdrenoSplitScenario.GlobalPages), without.FirstRoundGlobalMisses);
        // 8 x (64 + 96) ASID-tagged entries do not fit 1024: every page of every job misses.
        Assert.Equal(AdrenoSplitScenario.GlobalPages, without.GlobalMissesPerSwitch);
        Assert.Equal(AdrenoSplitScenario.ProcessPages, without.ProcessMissesPerSwitch);
        AdrenoSplitScenario.CheckCosts(withGlobals, without);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void UnmappingAGlobalPageInvalidatesItUnderEveryAsidAndTheTeardownFreesEveryTable(bool globalMappings)
    {
        using var scenario = new AdrenoSplitScenario(globalMappings);
        scenario.MeasureSwitching();
        scenario.CheckUnmapGlobal();
        Assert.Equal(0UL, scenario.TearDown());
    }

    [Fact]
    public void TheSeedCommandsPartRunsEveryCheckAndPrintsBothModes()
    {
        var output = new StringWriter();
        AdrenoSplitScenario.Run(output);
        string text = output.ToString();
        Assert.Contains("misses per switch, global buffers", text);
        Assert.Contains("GLOBAL  not GLOBAL", text);
        Assert.Contains("table pages in use: 0", text);
    }

    /// <summary>
    /// smmu.h (smmu_map): a range below 2^64 - 2^ias on a split base domain is ERANGE, for map, unmap and
    /// iova_to_phys alike (the mapper checks the range against the domain's input base).
    /// </summary>
    [Fact]
    public void MapOutsideASplitDomainsHalfIsRange()
    {
        using var smmu = Create();
        DomainHandle d = smmu.Alloc();
        Ok(smmu.SetSplitTtbr1(d, true));
        Fails(SmmuError.Range, smmu.Map(d, 0x1_0000_0000, 0x2_0000_0000, 0x1000, ReadWrite));
        Fails(SmmuError.Range, (int)smmu.Unmap(d, 0x1_0000_0000, 0x1000));
        Fails(SmmuError.Range, smmu.IovaToPhys(d, 0x1_0000_0000, out _));
    }
}
