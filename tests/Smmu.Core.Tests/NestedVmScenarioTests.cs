using Smmu.Bench.Seed;

namespace Smmu.Core.Tests;

/// <summary>
/// The seed command's nested VM scenario (bench/Seed/NestedVmScenario.cs): the seed's dynamic domains in a
/// guest whose base domain is nested under a stage-2 domain. Each step's own checks throw on the first
/// difference; these tests also assert the numbers the command prints.
/// </summary>
public class NestedVmScenarioTests
{
    [Fact]
    public void TheGuestsDomainsRunUnderTheVmsVmidOnANestedBank()
    {
        using var vm = new NestedVmScenario();
        NestedVmScenario.VmIdentity id = vm.CheckVmid();
        Assert.NotEqual(0u, id.Vmid);
        Assert.Equal((ulong)id.Vmid, id.Vttbr >> 48);
        Assert.Equal(2u << ContextBankState.RegimeShift, id.Flags);
    }

    [Fact]
    public void ANestedMissReads24DescriptorsAndSwitchingUnderTheVmCostsNothing()
    {
        using var vm = new NestedVmScenario();
        NestedVmScenario.SeedUnderVm seed = vm.RunSeed();
        Assert.Equal((ulong)((NestedVmScenario.Processes + 1) * NestedVmScenario.JobPages), seed.ColdMisses);
        Assert.Equal(24, seed.DescriptorReadsPerMiss);                      // 4 x (4 + 1) + 4
        Assert.Equal(0, seed.WarmMissesPerSwitch);
        Assert.Equal(0UL, seed.WarmInvalidations);
        Assert.Equal(4, NestedVmScenario.Stage1OnlyReadsPerMiss());
    }

    [Fact]
    public void UnmappingAGuestTablePageFaultsAtStage2WithS1ptwAndTheDescriptorsIpa()
    {
        using var vm = new NestedVmScenario();
        vm.RunSeed();
        (SmmuFault fault, ulong table) = vm.UnmapGuestTablePage();
        Assert.Equal(FaultType.Translation, fault.Type);
        Assert.Equal(2u, fault.Stage);
        Assert.Equal(1u, fault.S1ptw);
        Assert.Equal(3u, fault.Level);
        Assert.Equal(table, fault.Ipa & ~0xFFFUL);                           // a descriptor of the lost table
        Assert.Equal(FaultRegisters.Fsynr0PageTableWalk | 3, fault.Fsynr);
        Assert.Equal(FaultRegisters.FsrTranslation, fault.Fsr);
    }

    [Fact]
    public void AWriteToDataStage2MapsReadOnlyIsAStage2PermissionFault()
    {
        using var vm = new NestedVmScenario();
        SmmuFault fault = vm.WriteToReadOnlyData();
        Assert.Equal(FaultType.Permission, fault.Type);
        Assert.Equal(2u, fault.Stage);
        Assert.Equal(0u, fault.S1ptw);
        Assert.Equal(NestedVmScenario.ReadOnlyIpa + 0x100, fault.Ipa);
        Assert.Equal(FaultRegisters.Fsynr0Write | 3, fault.Fsynr);
        Assert.Equal(FaultRegisters.FsrPermission, fault.Fsr);
    }

    [Fact]
    public void APoolBackedBy2MiBBlocksCutsANestedMissTo20ReadsAndTheTeardownFreesTheVmid()
    {
        using var vm = new NestedVmScenario();
        vm.RunSeed();
        Assert.Equal(20, vm.DescriptorReadsWithBlockBackedPool());           // 4 x (3 + 1) + 4
        Assert.Equal(0UL, vm.TearDown());
    }

    [Fact]
    public void TheSeedCommandsPartRunsEveryCheck()
    {
        var output = new StringWriter();
        NestedVmScenario.Run(output);
        string text = output.ToString();
        Assert.Contains("24.00 descriptor reads per nested miss", text);
        Assert.Contains("0.00 misses per switch", text);
        Assert.Contains("S1PTW", text);
    }
}
