using static Smmu.Core.Tests.TestSmmu;

namespace Smmu.Core.Tests;

/// <summary>
/// Nested translation: a stage-1 domain with a NEST_PARENT translates IOVA → IPA → PA; every stage-1
/// table fetch is translated by stage 2 (the stage-2 domain maps the table pool, IPA = PA), faults say
/// which stage failed (S1PTW, IPA), the TLB caches the combined translation with the combined rights,
/// and dynamic domains under one VM share its stage 2 and VMID.
/// </summary>
public class NestingTests
{
    private const ulong Iova = 0x1000_0000, Ipa = 0x8000_0000, HostPa = 0x3_0000_0000;

    /// <summary>A VM: a stage-2 domain mapping the pool (IPA = PA) and [Ipa, +2 MiB) → HostPa; the guest's base domain nested under it.</summary>
    private sealed class Vm : IDisposable
    {
        public readonly SmmuInstance Smmu;
        public readonly DomainHandle Stage2, Base;

        /// <param name="pageGrained">A 1 MiB pool and 1 MiB of data, so that stage 2 maps them with 4 KiB pages (no blocks).</param>
        public Vm(SmmuProt dataProt = ReadWrite, uint stage1Granule = 4096, uint stage2Granule = 4096, bool mapData = true, bool pageGrained = false)
        {
            Smmu = pageGrained ? Create(c => c with { PtPoolBytes = 1UL << 20 }) : Create();
            ulong dataSize = pageGrained ? 1UL << 20 : 0x20_0000;
            Stage2 = Smmu.Alloc();
            Ok(Smmu.SetGranule(Stage2, stage2Granule));
            Ok(Smmu.SetStage(Stage2, 2));
            SmmuConfig config = Smmu.Config;
            Ok(Smmu.Map(Stage2, config.PtPoolBase, config.PtPoolBase, config.PtPoolBytes, ReadWrite));
            if (mapData)
                Ok(Smmu.Map(Stage2, Ipa, HostPa, dataSize, dataProt));
            Base = Smmu.Alloc();
            Ok(Smmu.SetGranule(Base, stage1Granule));
            Ok(Smmu.SetNestParent(Base, Stage2));
            Ok(Smmu.Map(Base, Iova, Ipa, 0x10_0000, ReadWrite));
            Ok(Smmu.AttachDevice(Base, Sid));
        }

        public SmmuFault Fault(ulong iova, SmmuAccess access = SmmuAccess.Read)
        {
            Fails(SmmuError.Fault, Smmu.Translate(Sid, iova, access, out _));
            Ok(Smmu.GetFault(0, out SmmuFault fault));
            Ok(Smmu.ClearFault(0));
            return fault;
        }

        public void Dispose() => Smmu.Dispose();
    }

    [Fact]
    public void IovaTranslatesThroughBothStagesAndAFourByFourWalkReads24Descriptors()
    {
        using var vm = new Vm(pageGrained: true);
        Assert.Equal(HostPa + 0x5678, vm.Smmu.TranslateOk(Iova + 0x5678));
        SmmuStats stats = vm.Smmu.Stats;
        Assert.Equal(24UL, stats.DescriptorReads);   // 4 stage-1 levels x (4 stage-2 reads + 1) + 4 for the output
        Assert.Equal(1UL, stats.Stage2Walks);
        Assert.Equal(HostPa + 0x5000, vm.Smmu.TranslateOk(Iova + 0x5000));   // the combined entry hits
        Assert.Equal(24UL, vm.Smmu.Stats.DescriptorReads);
        Ok(vm.Smmu.GetContextBankState(0, out ContextBankState bank));
        Assert.Equal(2u << ContextBankState.RegimeShift, bank.Flags & (3u << ContextBankState.RegimeShift));
        Ok(vm.Smmu.GetVmid(vm.Stage2, out uint vmid));
        Assert.Equal(vmid, bank.Vmid);
        Ok(vm.Smmu.GetVmid(vm.Base, out uint baseVmid));   // the nested domain reads its bank's
        Assert.Equal(vmid, baseVmid);
    }

    [Fact]
    public void UnmappingAStage1TablePageInStage2FaultsWithS1ptw()
    {
        using var vm = new Vm();
        Ok(vm.Smmu.GetTtbr0(vm.Base, out ulong ttbr0));
        ulong root = ttbr0 & Tables.PaMask;   // an IPA, equal to its PA in the pool
        Assert.Equal(0x1000L, vm.Smmu.Unmap(vm.Stage2, root, 0x1000));   // the hypervisor takes the guest's root away
        SmmuFault fault = vm.Fault(Iova);
        Assert.Equal((FaultType.Translation, 2u, 1u, 3u), (fault.Type, fault.Stage, fault.S1ptw, fault.Level));
        Assert.Equal(root + (Iova >> 39 & 511) * 8, fault.Ipa);   // the descriptor being fetched
        Assert.Equal(FaultRegisters.Fsynr0PageTableWalk, fault.Fsynr & FaultRegisters.Fsynr0PageTableWalk);
        Ok(vm.Smmu.GetContextBankState(0, out ContextBankState bank));
        Assert.Equal(0UL, bank.Ipafar);   // cleared with the fault
    }

    [Fact]
    public void AStage2PermissionFaultOnDataCarriesTheIpaAndAHandlerCanFixStage2AndRetry()
    {
        using var vm = new Vm(dataProt: SmmuProt.Read);
        int calls = 0;
        SmmuFault seen = default;
        Ok(vm.Smmu.SetFaultHandler(vm.Base, (SmmuInstance s, DomainHandle _, in SmmuFault f) =>
        {
            calls++;
            seen = f;
            Ok(s.Unmap(vm.Stage2, Ipa, 0x20_0000));
            Ok(s.Map(vm.Stage2, Ipa, HostPa, 0x20_0000, ReadWrite));
            return FaultVerdict.Retry;
        }));
        Assert.Equal(HostPa + 0x10, vm.Smmu.TranslateOk(Iova + 0x10));   // a read: allowed
        Assert.Equal(HostPa + 0x10, vm.Smmu.TranslateOk(Iova + 0x10, SmmuAccess.Write));   // stage 2 denies; fixed; retried
        Assert.Equal(1, calls);
        Assert.Equal((FaultType.Permission, 2u, 0u, Ipa + 0x10, 2u), (seen.Type, seen.Stage, seen.S1ptw, seen.Ipa, seen.Level));
    }

    [Fact]
    public void AStage1PermissionFaultUnderNestingIsStage1()
    {
        using var vm = new Vm();
        Ok(vm.Smmu.Map(vm.Base, 0x2000_0000, Ipa + 0x1000, 0x1000, SmmuProt.Read));
        SmmuFault fault = vm.Fault(0x2000_0000, SmmuAccess.Write);
        Assert.Equal((FaultType.Permission, 1u, 0u, 0UL, 3u), (fault.Type, fault.Stage, fault.S1ptw, fault.Ipa, fault.Level));
        Fails(SmmuError.Fault, vm.Smmu.Translate(Sid, 0x2000_0000, SmmuAccess.Write, out _));   // from the combined TLB entry: the same answer
        Ok(vm.Smmu.GetFault(0, out SmmuFault again));
        Assert.Equal((fault.Type, fault.Stage, fault.Level), (again.Type, again.Stage, again.Level));
    }

    [Fact]
    public void AnOutputIpaStage2DoesNotMapIsAStage2TranslationFault()
    {
        using var vm = new Vm(mapData: false);
        SmmuFault fault = vm.Fault(Iova + 0x20);
        Assert.Equal((FaultType.Translation, 2u, 0u, Ipa + 0x20), (fault.Type, fault.Stage, fault.S1ptw, fault.Ipa));
    }

    [Fact]
    public void TheCombinedEntryHasTheSmallerLeafAndBothStagesRights()
    {
        using var vm = new Vm(dataProt: SmmuProt.Read | SmmuProt.Write | SmmuProt.NoExec, pageGrained: true);
        // Stage 1 maps a 2 MiB block; stage 2 maps the IPAs with 4 KiB pages: combined 4 KiB.
        Ok(vm.Smmu.Map(vm.Base, 0x4000_0000, Ipa, 0x20_0000, ReadWrite));
        Assert.Equal(HostPa + 0x1_1000, vm.Smmu.TranslateOk(0x4001_1000));
        Assert.Equal(HostPa + 0x1_2000, vm.Smmu.TranslateOk(0x4001_2000));   // another page of the block: another miss (the 4K stage-2 leaf)
        Assert.Equal(2UL, vm.Smmu.Stats.TlbMisses);
        SmmuFault fault = vm.Fault(0x4001_1000, SmmuAccess.Exec);   // stage 1 allows execution, stage 2 does not
        Assert.Equal((FaultType.Permission, 2u), (fault.Type, fault.Stage));
    }

    [Fact]
    public void DynamicDomainsUnderOneVmShareItsStage2AndSwitchWithoutInvalidation()
    {
        using var vm = new Vm();
        SmmuInstance smmu = vm.Smmu;
        var processes = new DomainHandle[4];
        for (int i = 0; i < processes.Length; i++)
        {
            processes[i] = smmu.AttachDynamic(vm.Base);
            Ok(smmu.Map(processes[i], Iova, Ipa + (ulong)(i + 1) * 0x1000, 0x1000, ReadWrite));
            Ok(smmu.GetVmid(processes[i], out uint vmid));
            Ok(smmu.GetVmid(vm.Stage2, out uint vmVmid));
            Assert.Equal(vmVmid, vmid);
        }
        foreach (DomainHandle p in processes)
        {
            Ok(smmu.SwitchDomain(p));
            smmu.TranslateOk(Iova);
        }
        Ok(smmu.ResetStats());
        for (int round = 0; round < 5; round++)
            for (int i = 0; i < processes.Length; i++)
            {
                Ok(smmu.SwitchDomain(processes[i]));
                Assert.Equal(HostPa + (ulong)(i + 1) * 0x1000, smmu.TranslateOk(Iova));
            }
        Assert.Equal(0UL, smmu.Stats.TlbMisses);
        Assert.Equal(0UL, smmu.Stats.TlbInvalidations);
        // A dynamic domain naming another stage 2 does not fit the bank.
        DomainHandle otherVm = smmu.Alloc();
        Ok(smmu.SetStage(otherVm, 2));
        DomainHandle stranger = smmu.Alloc();
        Ok(smmu.SetDynamic(stranger, true));
        Ok(smmu.SetContextBank(stranger, 0));
        Ok(smmu.SetNestParent(stranger, otherVm));
        Fails(SmmuError.Invalid, smmu.AttachDevice(stranger, Sid));
    }

    [Fact]
    public void AStage2UnmapLeavesNoStaleCombinedEntry()
    {
        using var vm = new Vm();
        Assert.Equal(HostPa + 0x3000, vm.Smmu.TranslateOk(Iova + 0x3000));
        // The hypervisor moves the page: unmap + map at another host PA. The combined entry must not survive.
        Assert.Equal(0x20_0000L, vm.Smmu.Unmap(vm.Stage2, Ipa, 0x20_0000));
        Ok(vm.Smmu.Map(vm.Stage2, Ipa, HostPa + 0x4000_0000, 0x20_0000, ReadWrite));
        Assert.Equal(HostPa + 0x4000_3000, vm.Smmu.TranslateOk(Iova + 0x3000));
        Assert.True(vm.Smmu.Stats.VmidInvalidations >= 1);
    }

    [Fact]
    public void AStage2DomainInUseAsAParentCannotBeFreedAndItsVmidLivesWhileUsed()
    {
        using var vm = new Vm();
        Fails(SmmuError.Busy, vm.Smmu.DomainFree(vm.Stage2));
        Ok(vm.Smmu.DetachDevice(vm.Base, Sid));
        Fails(SmmuError.NoDevice, vm.Smmu.GetVmid(vm.Stage2, out _));   // no user: the VMID went
        Fails(SmmuError.Busy, vm.Smmu.DomainFree(vm.Stage2));           // still named as a parent
        Ok(vm.Smmu.SetNestParent(vm.Base, DomainHandle.None));
        Ok(vm.Smmu.DomainFree(vm.Stage2));
        Fails(SmmuError.BadHandle, vm.Smmu.SetNestParent(vm.Base, vm.Stage2));
    }

    [Theory]
    [InlineData(16384u, 4096u)]
    [InlineData(4096u, 65536u)]
    [InlineData(65536u, 16384u)]
    public void NestingWorksAcrossGranules(uint stage1Granule, uint stage2Granule)
    {
        using var vm = new Vm(stage1Granule: stage1Granule, stage2Granule: stage2Granule);
        Assert.Equal(HostPa + 0x4_0008, vm.Smmu.TranslateOk(Iova + 0x4_0008));
        Assert.Equal(HostPa + 0x4_0010, vm.Smmu.TranslateOk(Iova + 0x4_0010));
        Assert.Equal(1UL, vm.Smmu.Stats.TlbMisses);
    }

    /// <summary>
    /// ARM ARM, AArch64.FullTranslate: stage 1's permission check faults before stage 2 sees the output IPA.
    /// A read-only stage-1 page written, whose IPA stage 2 does not map, is a stage-1 permission fault (found
    /// by the property test: the model used to report the stage-2 translation fault at the IPA).
    /// </summary>
    [Fact]
    public void AStage1PermissionFaultComesBeforeAStage2FaultOnTheOutput()
    {
        using var vm = new Vm(mapData: false);
        Ok(vm.Smmu.Map(vm.Base, Iova + 0x10_0000, Ipa, 0x1000, SmmuProt.Read));   // Ipa is not mapped in stage 2
        SmmuFault write = vm.Fault(Iova + 0x10_0000, SmmuAccess.Write);
        Assert.Equal((FaultType.Permission, 1u, 3u, 0UL, 0u), (write.Type, write.Stage, write.Level, write.Ipa, write.S1ptw));
        SmmuFault read = vm.Fault(Iova + 0x10_0000);                                 // stage 1 allows a read: stage 2 faults
        Assert.Equal((FaultType.Translation, 2u, Ipa), (read.Type, read.Stage, read.Ipa));
    }

    /// <summary>
    /// A combined global entry another process left in the TLB lacks the rights; the active process's own
    /// tables grant them. The TLB answers, as hardware would: a recorded stage-1 permission fault (found by
    /// the property test: the model used to return EFAULT with no fault record).
    /// </summary>
    [Fact]
    public void ACachedGlobalEntryWithoutTheRightsFaultsWithARecord()
    {
        using var vm = new Vm();
        SmmuInstance smmu = vm.Smmu;
        DomainHandle a = smmu.AttachDynamic(vm.Base), b = smmu.AttachDynamic(vm.Base);
        Ok(smmu.Map(a, 0x20_0000_0000, Ipa, 0x1000, SmmuProt.Read | SmmuProt.Global));
        Ok(smmu.Map(b, 0x20_0000_0000, Ipa + 0x1000, 0x1000, ReadWrite));
        Ok(smmu.SwitchDomain(a));
        Assert.Equal(HostPa, smmu.TranslateOk(0x20_0000_0000));
        Ok(smmu.SwitchDomain(b));
        Fails(SmmuError.Fault, smmu.Translate(Sid, 0x20_0000_0000, SmmuAccess.Write, out _));
        Ok(smmu.GetContextBank(vm.Base, out uint bank));
        Ok(smmu.GetFault(bank, out SmmuFault fault));
        Assert.Equal((FaultType.Permission, 1u, 3u), (fault.Type, fault.Stage, fault.Level));
    }
}
