using static Smmu.Core.Tests.TestSmmu;

namespace Smmu.Core.Tests;

/// <summary>
/// Split context banks (SMMU_ATTR_SPLIT_TTBR1): the base domain's tables are TTBR1, the upper,
/// sign-extended half; dynamic domains supply TTBR0; T0SZ = T1SZ = 64 − ias; TCR.A1 = 0. The walk picks
/// the table from the IOVA's top bits, as the architecture does with two TTBRs.
/// </summary>
public class SplitTableTests
{
    private const ulong Upper = 0xFFFF_FFFF_0000_0000;   // in the TTBR1 half with ias 48
    private const ulong Lower = 0x1000_0000;
    private const ulong GlobalPa = 0x8_0000_0000, ProcessPa = 0x9_0000_0000;

    /// <summary>A split base domain with one upper-half page, and <paramref name="processes"/> dynamic domains each mapping Lower.</summary>
    private static (SmmuInstance Smmu, DomainHandle Base, DomainHandle[] Processes) Setup(int processes = 2, SmmuProt globalProt = ReadWrite)
    {
        SmmuInstance smmu = Create();
        DomainHandle baseDomain = smmu.Alloc();
        Ok(smmu.SetSplitTtbr1(baseDomain, true));
        Ok(smmu.Map(baseDomain, Upper, GlobalPa, 0x1000, globalProt));
        Ok(smmu.AttachDevice(baseDomain, Sid));
        var dynamics = new DomainHandle[processes];
        for (int i = 0; i < processes; i++)
        {
            dynamics[i] = smmu.AttachDynamic(baseDomain);
            Ok(smmu.Map(dynamics[i], Lower, ProcessPa + (ulong)i * 0x100_0000, 0x1000, ReadWrite));
        }
        return (smmu, baseDomain, dynamics);
    }

    private static SmmuFault FaultOf(SmmuInstance smmu, ulong iova)
    {
        Fails(SmmuError.Fault, smmu.Translate(Sid, iova, SmmuAccess.Read, out _));
        Ok(smmu.GetFault(0, out SmmuFault fault));
        Ok(smmu.ClearFault(0));
        return fault;
    }

    [Fact]
    public void TheBaseDomainsUpperHalfTranslatesThroughTtbr1AndTheLowerHalfIsDisabledUntilAProcessRuns()
    {
        var (smmu, baseDomain, processes) = Setup();
        using (smmu)
        {
            Assert.Equal(GlobalPa + 0x40, smmu.TranslateOk(Upper + 0x40));
            SmmuFault fault = FaultOf(smmu, Lower);   // EPD0: no process is active
            Assert.Equal((FaultType.Translation, 0u, 1u), (fault.Type, fault.Level, fault.Stage));
            Assert.Equal(baseDomain, fault.ActiveDomain);

            Ok(smmu.SwitchDomain(processes[0]));
            Assert.Equal(ProcessPa + 0x40, smmu.TranslateOk(Lower + 0x40));
            Assert.Equal(GlobalPa + 0x40, smmu.TranslateOk(Upper + 0x40));   // TTBR1 stays
        }
    }

    [Theory]
    [InlineData(0x0001_0000_0000_0000UL)]   // bit 48 set, above it clear: in neither half
    [InlineData(0x8000_0000_0000_0000UL)]
    [InlineData(0xFFFE_FFFF_FFFF_F000UL)]   // just below the TTBR1 half
    public void AnIovaInNeitherHalfIsALevel0TranslationFault(ulong iova)
    {
        var (smmu, _, processes) = Setup();
        using (smmu)
        {
            Ok(smmu.SwitchDomain(processes[0]));
            SmmuFault fault = FaultOf(smmu, iova);
            Assert.Equal((FaultType.Translation, 0u), (fault.Type, fault.Level));
            Assert.Equal(iova, fault.Iova);
        }
    }

    [Fact]
    public void SwitchChangesOnlyTtbr0AndTheAsidTtbr1Stays()
    {
        var (smmu, baseDomain, processes) = Setup();
        using (smmu)
        {
            Ok(smmu.GetContextBankState(0, out ContextBankState before));
            Assert.Equal(ContextBankState.FlagEpd0 | ContextBankState.FlagSplit, before.Flags & 0xF);
            Ok(smmu.GetTtbr1(baseDomain, out ulong ttbr1));
            Assert.Equal(before.Ttbr1, ttbr1);
            Assert.NotEqual(0UL, ttbr1 & Tables.PaMask);
            Assert.Equal((ulong)smmu.AsidOf(baseDomain), ttbr1 >> 48);
            Fails(SmmuError.NoEntry, smmu.GetTtbr0(baseDomain, out _));   // its tables are TTBR1

            foreach (DomainHandle p in processes)
            {
                Ok(smmu.SwitchDomain(p));
                Ok(smmu.GetContextBankState(0, out ContextBankState now));
                Assert.Equal(before.Ttbr1, now.Ttbr1);
                Assert.Equal(smmu.AsidOf(p), now.Asid);
                Ok(smmu.GetTtbr0(p, out ulong ttbr0));
                Assert.Equal(ttbr0, now.Ttbr0);
                Assert.Equal(ContextBankState.FlagSplit, now.Flags & 0xF);
                Ok(smmu.GetTtbr1(p, out ulong seen));
                Assert.Equal(ttbr1, seen);   // every domain on the bank reads the bank's TTBR1
            }
            Ok(smmu.SwitchDomain(baseDomain));   // back to "no process": EPD0 again, the base's ASID
            Ok(smmu.GetContextBankState(0, out ContextBankState after));
            Assert.Equal(before.Ttbr1, after.Ttbr1);
            Assert.Equal(ContextBankState.FlagEpd0 | ContextBankState.FlagSplit, after.Flags & 0xF);
            Assert.Equal(smmu.AsidOf(baseDomain), after.Asid);
        }
    }

    [Fact]
    public void AMapOutsideTheDomainsHalfIsOutOfRange()
    {
        var (smmu, baseDomain, processes) = Setup();
        using (smmu)
        {
            Fails(SmmuError.Range, smmu.Map(baseDomain, Lower, GlobalPa, 0x1000, ReadWrite));          // lower half on TTBR1
            Fails(SmmuError.Range, smmu.Map(baseDomain, 0xFFFE_FFFF_FFFF_F000, GlobalPa, 0x1000, ReadWrite));
            Fails(SmmuError.Range, smmu.Map(processes[0], Upper + 0x1000, GlobalPa, 0x1000, ReadWrite));   // upper half on TTBR0
            Fails(SmmuError.Range, smmu.Map(baseDomain, 0xFFFF_FFFF_FFFF_F000, GlobalPa, 0x2000, ReadWrite)); // past 2^64
            Ok(smmu.Map(baseDomain, 0xFFFF_FFFF_FFFF_F000, GlobalPa, 0x1000, ReadWrite));                   // the last page
            Ok(smmu.IovaToPhys(baseDomain, 0xFFFF_FFFF_FFFF_F123, out ulong pa));
            Assert.Equal(GlobalPa + 0x123, pa);
            Fails(SmmuError.Range, smmu.IovaToPhys(baseDomain, Lower, out _));
            Assert.Equal(0x1000L, smmu.Unmap(baseDomain, 0xFFFF_FFFF_FFFF_F000, 0x1000));
            Fails(SmmuError.Range, (int)smmu.Unmap(baseDomain, Lower, 0x1000));
        }
    }

    [Fact]
    public void NonGlobalTtbr1EntriesAreTaggedWithTheRunningProcesssAsid()
    {
        var (smmu, _, processes) = Setup();
        using (smmu)
        {
            Ok(smmu.SwitchDomain(processes[0]));
            smmu.TranslateOk(Upper);
            Ok(smmu.SwitchDomain(processes[1]));
            smmu.TranslateOk(Upper);
            Assert.Equal(2UL, smmu.Stats.TlbMisses);   // each process caches its own copy (TCR.A1 = 0)
            Ok(smmu.SwitchDomain(processes[0]));
            smmu.TranslateOk(Upper);
            Assert.Equal(2UL, smmu.Stats.TlbMisses);   // and keeps it
            Assert.True(TlbTests.Lookup(smmu.TlbForTests, Upper, (ushort)smmu.AsidOf(processes[1])) >= 0);
        }
    }

    [Fact]
    public void AGlobalTtbr1MappingIsOneEntryForEveryProcess()
    {
        var (smmu, _, processes) = Setup(processes: 8, globalProt: ReadWrite | SmmuProt.Global);
        using (smmu)
        {
            for (int round = 0; round < 3; round++)
                foreach (DomainHandle p in processes)
                {
                    Ok(smmu.SwitchDomain(p));
                    Assert.Equal(GlobalPa + 0x10, smmu.TranslateOk(Upper + 0x10));
                }
            Assert.Equal(1UL, smmu.Stats.TlbMisses);   // filled once, hit by every process after every switch
            Assert.Equal(24UL, smmu.Stats.TlbHits + smmu.Stats.TlbMisses);
        }
    }

    [Fact]
    public void UnmappingATtbr1PageInvalidatesItForEveryProcessThatCachedIt()
    {
        var (smmu, baseDomain, processes) = Setup();
        using (smmu)
        {
            foreach (DomainHandle p in processes)
            {
                Ok(smmu.SwitchDomain(p));
                smmu.TranslateOk(Upper);
            }
            Assert.Equal(0x1000L, smmu.Unmap(baseDomain, Upper, 0x1000));
            foreach (DomainHandle p in processes)
            {
                Ok(smmu.SwitchDomain(p));
                Assert.Equal(FaultType.Translation, FaultOf(smmu, Upper).Type);
            }
        }
    }

    [Fact]
    public void DetachingTheActiveProcessFallsBackToEpd0AndTheBasesAsid()
    {
        var (smmu, baseDomain, processes) = Setup();
        using (smmu)
        {
            Ok(smmu.SwitchDomain(processes[1]));
            Ok(smmu.DetachDevice(processes[1], Sid));
            Ok(smmu.GetContextBankState(0, out ContextBankState bank));
            Assert.Equal(ContextBankState.FlagEpd0, bank.Flags & ContextBankState.FlagEpd0);
            Assert.Equal(smmu.AsidOf(baseDomain), bank.Asid);
            Assert.Equal(FaultType.Translation, FaultOf(smmu, Lower).Type);
            Assert.Equal(GlobalPa, smmu.TranslateOk(Upper));
        }
    }

    [Fact]
    public void SplitTtbr1IsForStage1BaseDomainsBeforeTheirFirstMapAndAttach()
    {
        using var smmu = Create();
        DomainHandle dynamic = smmu.Alloc();
        Ok(smmu.SetDynamic(dynamic, true));
        Fails(SmmuError.Invalid, smmu.SetSplitTtbr1(dynamic, true));
        DomainHandle stage2 = smmu.Alloc();
        Ok(smmu.SetStage(stage2, 2));
        Fails(SmmuError.Invalid, smmu.SetSplitTtbr1(stage2, true));
        DomainHandle mapped = smmu.Alloc();
        Ok(smmu.Map(mapped, Lower, ProcessPa, 0x1000, ReadWrite));
        Fails(SmmuError.Busy, smmu.SetSplitTtbr1(mapped, true));
        DomainHandle attached = smmu.AttachBase(1);
        Fails(SmmuError.Busy, smmu.SetSplitTtbr1(attached, true));
        Fails(SmmuError.Invalid, smmu.SetAttribute(smmu.Alloc(), DomainAttribute.SplitTtbr1, BitConverter.GetBytes(2u)));
        Fails(SmmuError.NotPermitted, smmu.SetAttribute(attached, DomainAttribute.Ttbr1, new byte[8]));
        Fails(SmmuError.NoDevice, smmu.GetTtbr1(smmu.Alloc(), out _));
    }
}
