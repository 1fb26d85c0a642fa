using static Smmu.Core.Tests.TestSmmu;

namespace Smmu.Core.Tests;

/// <summary>
/// Faults (SPEC §4 and seed constraint 2): delivery to the base domain's handler, the record and the
/// context bank's FSR/FAR/FSYNR0 images, recording without a handler, retry, re-entry and batches.
/// </summary>
public class FaultTests
{
    // The register layout documented in FaultRegisters (arm-smmu.h), spelled out so the test does not lean on the code.
    private const uint TF = 1u << 1, AFF = 1u << 2, PF = 1u << 3, ASF = 1u << 7, MULTI = 1u << 31;
    private const uint WNR = 1u << 4, PNU = 1u << 5, IND = 1u << 6;

    private sealed class Recorder
    {
        public readonly List<(DomainHandle Base, SmmuFault Fault)> Calls = [];
        public Func<SmmuInstance, SmmuFault, int> Then = (_, _) => FaultVerdict.Terminate;

        public int Handle(SmmuInstance smmu, DomainHandle baseDomain, in SmmuFault fault)
        {
            Calls.Add((baseDomain, fault));
            return Then(smmu, fault);
        }
    }

    private static ContextBankState Bank(SmmuInstance smmu, uint cb = 0)
    {
        Ok(smmu.GetContextBankState(cb, out ContextBankState state));
        return state;
    }

    /// <summary>The PA of the leaf descriptor for <paramref name="iova"/>, found by walking from TTBR0 with phys_read64.</summary>
    private static ulong LeafDescriptorPa(SmmuInstance smmu, DomainHandle d, ulong iova)
    {
        Ok(smmu.GetTtbr0(d, out ulong ttbr0));
        ulong table = ttbr0 & 0x0000_FFFF_FFFF_F000;
        for (int level = 0; ; level++)
        {
            ulong pa = table + ((iova >> (39 - 9 * level)) & 511) * 8;
            Ok(smmu.PhysRead64(pa, out ulong descriptor));
            Assert.True((descriptor & 1) != 0, "the IOVA must be mapped");
            if (level == 3 || (descriptor & 0b11) == 0b01)
                return pa;
            table = descriptor & 0x0000_FFFF_FFFF_F000;
        }
    }

    [Fact]
    public void RegisterLayoutIsAsDocumented()
    {
        Assert.Equal(TF, FaultRegisters.FsrTranslation);
        Assert.Equal(AFF, FaultRegisters.FsrAccessFlag);
        Assert.Equal(PF, FaultRegisters.FsrPermission);
        Assert.Equal(ASF, FaultRegisters.FsrAddressSize);
        Assert.Equal(MULTI, FaultRegisters.FsrMulti);
        Assert.Equal(WNR, FaultRegisters.Fsynr0Write);
        Assert.Equal(PNU, FaultRegisters.Fsynr0Privileged);
        Assert.Equal(IND, FaultRegisters.Fsynr0Instruction);
        Assert.Equal(0b11u, FaultRegisters.Fsynr0LevelMask);
    }

    // ---------------------------------------------------------------- seed constraint 2

    [Fact]
    public void AFaultGoesToTheBaseDomainsHandlerWithTheActiveDynamicDomainAndItsAsid()
    {
        using var smmu = Create();
        DomainHandle baseDomain = smmu.AttachBase(5);
        DomainHandle dyn = smmu.AttachDynamic(baseDomain, 5);
        var recorder = new Recorder();
        Ok(smmu.SetFaultHandler(baseDomain, recorder.Handle));
        Ok(smmu.SwitchDomain(dyn));

        Fails(SmmuError.Fault, smmu.Translate(5, Iova + 0x123, SmmuAccess.Write, out ulong pa));
        Assert.Equal(0UL, pa);

        var (handlerBase, fault) = Assert.Single(recorder.Calls);
        Assert.Equal(baseDomain, handlerBase);
        Assert.Equal(dyn, fault.ActiveDomain);
        Assert.Equal(smmu.AsidOf(dyn), fault.Asid);
        Assert.Equal(SmmuFault.CurrentSize, fault.Size);
        Assert.Equal(FaultType.Translation, fault.Type);
        Assert.Equal(5u, fault.StreamId);
        Assert.Equal(0u, fault.ContextBank);
        Assert.Equal(SmmuAccess.Write, fault.Access);
        Assert.Equal(Iova + 0x123, fault.Iova);

        // And with the base active, the record names the base.
        Ok(smmu.SwitchDomain(baseDomain));
        Fails(SmmuError.Fault, smmu.Translate(5, Iova, SmmuAccess.Read, out _));
        Assert.Equal(baseDomain, recorder.Calls[1].Fault.ActiveDomain);
        Assert.Equal(smmu.AsidOf(baseDomain), recorder.Calls[1].Fault.Asid);
        Assert.Equal(2UL, smmu.Stats.Faults);
    }

    [Fact]
    public void EachBankReportsToItsOwnBaseDomainOnly()
    {
        using var smmu = Create();
        DomainHandle baseA = smmu.AttachBase(0), baseB = smmu.AttachBase(1);
        DomainHandle dynB = smmu.AttachDynamic(baseB, 1);
        Ok(smmu.SwitchDomain(dynB));
        var a = new Recorder();
        var b = new Recorder();
        Ok(smmu.SetFaultHandler(baseA, a.Handle));
        Ok(smmu.SetFaultHandler(baseB, b.Handle));
        Fails(SmmuError.Fault, smmu.Translate(1, Iova, SmmuAccess.Read, out _));
        Assert.Empty(a.Calls);
        var (handlerBase, fault) = Assert.Single(b.Calls);
        Assert.Equal(baseB, handlerBase);
        Assert.Equal(dynB, fault.ActiveDomain);
        Assert.Equal(1u, fault.ContextBank);
        // Removing the handler (null) stops delivery; the fault is then recorded on the bank.
        Ok(smmu.SetFaultHandler(baseB, null));
        Fails(SmmuError.Fault, smmu.Translate(1, Iova, SmmuAccess.Read, out _));
        Assert.Single(b.Calls);
        Ok(smmu.GetFault(1, out SmmuFault recorded));
        Assert.Equal(dynB, recorded.ActiveDomain);
    }

    [Fact]
    public void AFaultHandlerCannotBeSetOnADynamicDomain()
    {
        using var smmu = Create();
        DomainHandle baseDomain = smmu.AttachBase();
        DomainHandle dyn = smmu.AttachDynamic(baseDomain);
        var recorder = new Recorder();
        Fails(SmmuError.Invalid, smmu.SetFaultHandler(dyn, recorder.Handle));
        Fails(SmmuError.Invalid, smmu.SetFaultHandler(dyn, null));
        DomainHandle unattached = smmu.Alloc();
        Ok(smmu.SetDynamic(unattached, true));
        Fails(SmmuError.Invalid, smmu.SetFaultHandler(unattached, recorder.Handle));
        // Faults on the bank stay unhandled: nothing was installed.
        Ok(smmu.SwitchDomain(dyn));
        Fails(SmmuError.Fault, smmu.Translate(Sid, Iova, SmmuAccess.Read, out _));
        Assert.Empty(recorder.Calls);
        Ok(smmu.GetFault(0, out _));
    }

    // ---------------------------------------------------------------- kinds, levels, registers

    public static TheoryData<string> FaultCases => new()
    {
        "translation L0", "translation L1", "translation L2", "translation L3", "beyond ias",
        "write to read-only page", "write to read-only 2M block", "write to read-only 1G block",
        "exec of no-exec page", "unprivileged access to privileged page", "privileged write to read-only page",
        "access flag", "address size",
    };

    [Theory]
    [MemberData(nameof(FaultCases))]
    public void EachFaultKindSetsItsTypeLevelFsrAndFsynr0(string name)
    {
        using var smmu = Create(c => c with { Oas = 40 });
        DomainHandle d = smmu.AttachBase();
        // Iova: a 4K page at L0[0] L1[1] L2[0] L3[0].
        Ok(smmu.Map(d, Iova, Pa, 0x1000, SmmuProt.Read | SmmuProt.NoExec));
        Ok(smmu.Map(d, Iova + 0x2000, Pa + 0x2000, 0x1000, SmmuProt.Read | SmmuProt.Write | SmmuProt.Priv));
        Ok(smmu.Map(d, 0x8000_0000, 0x20_0000, 0x20_0000, SmmuProt.Read));                // 2M block at L2
        Ok(smmu.Map(d, 0x1_0000_0000, 0x4000_0000, 0x4000_0000, SmmuProt.Read));         // 1G block at L1
        (ulong iova, SmmuAccess access, FaultType type, uint level) = name switch
        {
            "translation L0" => (0x80_0000_0000UL, SmmuAccess.Read, FaultType.Translation, 0u),
            "translation L1" => (0xC000_0000UL, SmmuAccess.Read, FaultType.Translation, 1u),
            "translation L2" => (Iova + 0x20_0000, SmmuAccess.Read, FaultType.Translation, 2u),
            "translation L3" => (Iova + 0x1000, SmmuAccess.Read, FaultType.Translation, 3u),
            "beyond ias" => (1UL << 48, SmmuAccess.Read, FaultType.Translation, 0u),
            "write to read-only page" => (Iova + 0x10, SmmuAccess.Write, FaultType.Permission, 3u),
            "write to read-only 2M block" => (0x8001_0000UL, SmmuAccess.Write, FaultType.Permission, 2u),
            "write to read-only 1G block" => (0x1_2345_6000UL, SmmuAccess.Write, FaultType.Permission, 1u),
            "exec of no-exec page" => (Iova, SmmuAccess.Exec, FaultType.Permission, 3u),
            "unprivileged access to privileged page" => (Iova + 0x2000, SmmuAccess.Read, FaultType.Permission, 3u),
            "privileged write to read-only page" => (Iova, SmmuAccess.Write | SmmuAccess.Priv, FaultType.Permission, 3u),
            "access flag" => (Iova, SmmuAccess.Read, FaultType.AccessFlag, 3u),
            _ => (Iova, SmmuAccess.Read, FaultType.AddressSize, 3u),
        };
        if (name == "access flag" || name == "address size")
        {
            ulong descriptorPa = LeafDescriptorPa(smmu, d, Iova);
            Ok(smmu.PhysRead64(descriptorPa, out ulong descriptor));
            ulong changed = name == "access flag"
                ? descriptor & ~(1UL << 10)                                               // AF clear
                : (descriptor & ~0x0000_FFFF_FFFF_F000UL) | 0x100_0000_0000UL;           // output at 2^40 = oas
            Ok(smmu.PhysWrite64(descriptorPa, changed));
        }
        uint fsr = type switch { FaultType.Translation => TF, FaultType.Permission => PF, FaultType.AccessFlag => AFF, _ => ASF };
        uint fsynr0 = level
            | ((access & SmmuAccess.Write) != 0 ? WNR : 0)
            | ((access & SmmuAccess.Priv) != 0 ? PNU : 0)
            | ((access & SmmuAccess.Exec) != 0 ? IND : 0);

        Fails(SmmuError.Fault, smmu.Translate(Sid, iova, access, out _));

        Ok(smmu.GetFault(0, out SmmuFault fault));
        Assert.Equal(type, fault.Type);
        Assert.Equal(level, fault.Level);
        Assert.Equal(fsr, fault.Fsr);
        Assert.Equal(fsynr0, fault.Fsynr);
        Assert.Equal(iova, fault.Iova);
        Assert.Equal(access, fault.Access);
        ContextBankState bank = Bank(smmu);
        Assert.Equal(fsr, bank.Fsr);
        Assert.Equal(fsynr0, bank.Fsynr0);
        Assert.Equal(iova, bank.Far);
    }

    [Fact]
    public void PermissionFaultsComeFromTlbHitsAsWellAsFromWalks()
    {
        using var smmu = Create();
        DomainHandle d = smmu.AttachBase();
        Ok(smmu.Map(d, Iova, Pa, 0x1000, SmmuProt.Read));
        Ok(smmu.Map(d, 0x8000_0000, 0x20_0000, 0x20_0000, SmmuProt.Read));

        // From a walk: a cold write.
        Fails(SmmuError.Fault, smmu.Translate(Sid, 0x8000_0000, SmmuAccess.Write, out _));
        Ok(smmu.GetFault(0, out SmmuFault walked));
        Assert.Equal(FaultType.Permission, walked.Type);
        Assert.Equal(2u, walked.Level);
        Ok(smmu.ClearFault(0));

        // From a hit: warm with a read, then write.
        Assert.Equal(Pa + 8, smmu.TranslateOk(Iova + 8));
        Ok(smmu.ResetStats());
        Fails(SmmuError.Fault, smmu.Translate(Sid, Iova + 8, SmmuAccess.Write, out ulong pa));
        Assert.Equal(0UL, pa);
        SmmuStats stats = smmu.Stats;
        Assert.Equal(0UL, stats.TlbMisses);
        Assert.Equal(0UL, stats.Walks);
        Assert.Equal(1UL, stats.TlbHits);
        Assert.Equal(1UL, stats.Faults);
        Ok(smmu.GetFault(0, out SmmuFault hit));
        Assert.Equal(FaultType.Permission, hit.Type);
        Assert.Equal(3u, hit.Level);
        Assert.Equal(PF, hit.Fsr);
        Assert.Equal(3u | WNR, hit.Fsynr);
        // The cached entry still serves reads.
        Assert.Equal(Pa + 8, smmu.TranslateOk(Iova + 8));
    }

    // ---------------------------------------------------------------- recording, without and with a handler

    [Fact]
    public void WithoutAHandlerTheFirstFaultStaysRecordedAndLaterOnesOnlySetMulti()
    {
        using var smmu = Create();
        DomainHandle d = smmu.AttachBase();
        Ok(smmu.Map(d, Iova, Pa, 0x1000, SmmuProt.Read));
        Fails(SmmuError.NoEntry, smmu.GetFault(0, out _));

        Fails(SmmuError.Fault, smmu.Translate(Sid, Iova + 0x5000, SmmuAccess.Read, out _));
        Ok(smmu.GetFault(0, out SmmuFault first));
        Assert.Equal(FaultType.Translation, first.Type);
        Assert.Equal(TF, first.Fsr);

        Fails(SmmuError.Fault, smmu.Translate(Sid, Iova, SmmuAccess.Write, out _));
        Ok(smmu.GetFault(0, out SmmuFault afterSecond));
        Assert.Equal(TF | MULTI, afterSecond.Fsr);
        Assert.Equal(first with { Fsr = TF | MULTI }, afterSecond);
        ContextBankState bank = Bank(smmu);
        Assert.Equal(Iova + 0x5000, bank.Far);
        Assert.Equal(first.Fsynr, bank.Fsynr0);
        Assert.Equal(TF | MULTI, bank.Fsr);
        Assert.Equal(2UL, smmu.Stats.Faults);

        Ok(smmu.ClearFault(0));
        Fails(SmmuError.NoEntry, smmu.GetFault(0, out SmmuFault none));
        Assert.Equal(default, none);
        bank = Bank(smmu);
        Assert.Equal((0u, 0u, 0UL), (bank.Fsr, bank.Fsynr0, bank.Far));
        // The next fault is a first fault again.
        Fails(SmmuError.Fault, smmu.Translate(Sid, Iova, SmmuAccess.Write, out _));
        Ok(smmu.GetFault(0, out SmmuFault fresh));
        Assert.Equal(PF, fresh.Fsr);
        Assert.Equal(Iova, fresh.Iova);
        Fails(SmmuError.Invalid, smmu.GetFault(8, out _));
        Fails(SmmuError.Invalid, smmu.ClearFault(8));
    }

    [Fact]
    public void WithAHandlerTheRecordIsVisibleDuringTheCallAndClearedAfterIt()
    {
        using var smmu = Create();
        DomainHandle d = smmu.AttachBase();
        var recorder = new Recorder();
        SmmuFault? seenInside = null;
        bool inHandler = false;
        recorder.Then = (s, f) =>
        {
            inHandler = s.InFaultHandler;
            Ok(s.GetFault(0, out SmmuFault inside));
            seenInside = inside;
            return FaultVerdict.Terminate;
        };
        Ok(smmu.SetFaultHandler(d, recorder.Handle));
        Fails(SmmuError.Fault, smmu.Translate(Sid, Iova, SmmuAccess.Read, out _));
        Assert.True(inHandler);
        Assert.False(smmu.InFaultHandler);
        Assert.Equal(recorder.Calls[0].Fault, seenInside);
        Fails(SmmuError.NoEntry, smmu.GetFault(0, out _));
        Assert.Equal(0u, Bank(smmu).Fsr);
        Assert.Equal(0UL, Bank(smmu).Far);
    }

    [Fact]
    public void AHandlerThatMapsThePageAndAsksForARetryMakesTheTranslationSucceed()
    {
        using var smmu = Create();
        DomainHandle baseDomain = smmu.AttachBase();
        DomainHandle dyn = smmu.AttachDynamic(baseDomain);
        Ok(smmu.SwitchDomain(dyn));
        var recorder = new Recorder
        {
            // Demand paging: map the faulting page in the domain that faulted.
            Then = (s, f) => s.Map(f.ActiveDomain, f.Iova & ~0xFFFUL, Pa, 0x1000, ReadWrite) == SmmuError.Ok
                ? FaultVerdict.Retry : FaultVerdict.Terminate,
        };
        Ok(smmu.SetFaultHandler(baseDomain, recorder.Handle));

        Assert.Equal(Pa + 0x321, smmu.TranslateOk(Iova + 0x321, SmmuAccess.Write));
        Assert.Single(recorder.Calls);
        Assert.Equal(1UL, smmu.Stats.Faults);
        Assert.Equal(SmmuError.Ok, smmu.IovaToPhys(dyn, Iova, out _));
        Fails(SmmuError.NoEntry, smmu.GetFault(0, out _));
        // Now it hits.
        Assert.Equal(Pa + 0x10, smmu.TranslateOk(Iova + 0x10));
    }

    [Fact]
    public void ASecondFaultInTheRetryTerminatesTheTranslation()
    {
        using var smmu = Create();
        DomainHandle d = smmu.AttachBase();
        var recorder = new Recorder { Then = (_, _) => FaultVerdict.Retry };   // asks for a retry but fixes nothing
        Ok(smmu.SetFaultHandler(d, recorder.Handle));
        Fails(SmmuError.Fault, smmu.Translate(Sid, Iova, SmmuAccess.Read, out ulong pa));
        Assert.Equal(0UL, pa);
        // The retry faulted too and was reported, but there is no third attempt.
        Assert.Equal(2, recorder.Calls.Count);
        Assert.Equal(2UL, smmu.Stats.Faults);
        Assert.All(recorder.Calls, c => Assert.Equal(Iova, c.Fault.Iova));
    }

    [Fact]
    public void AHandlerWhoseOwnTranslationFaultsIsNotReentered()
    {
        using var smmu = Create();
        DomainHandle d = smmu.AttachBase();
        int innerRc = 0;
        var recorder = new Recorder
        {
            Then = (s, fault) =>
            {
                innerRc = s.Translate(Sid, Iova + 0x10_0000, SmmuAccess.Read, out _);
                return FaultVerdict.Terminate;
            },
        };
        Ok(smmu.SetFaultHandler(d, recorder.Handle));
        Fails(SmmuError.Fault, smmu.Translate(Sid, Iova, SmmuAccess.Read, out _));
        Assert.Equal(SmmuError.Fault, innerRc);
        Assert.Single(recorder.Calls);
        Assert.Equal(Iova, recorder.Calls[0].Fault.Iova);
        Assert.Equal(2UL, smmu.Stats.Faults);
        // The handler runs again for the next fault from outside.
        Fails(SmmuError.Fault, smmu.Translate(Sid, Iova, SmmuAccess.Read, out _));
        Assert.Equal(2, recorder.Calls.Count);
    }

    [Fact]
    public void DisposeInsideAHandlerThrowsAndLeavesTheInstanceWorking()
    {
        using var smmu = Create();
        DomainHandle d = smmu.AttachBase();
        Exception? thrown = null;
        var recorder = new Recorder
        {
            Then = (s, _) =>
            {
                thrown = Record.Exception(s.Dispose);
                return FaultVerdict.Terminate;
            },
        };
        Ok(smmu.SetFaultHandler(d, recorder.Handle));
        Fails(SmmuError.Fault, smmu.Translate(Sid, Iova, SmmuAccess.Read, out _));
        Assert.IsType<InvalidOperationException>(thrown);
        Ok(smmu.Map(d, Iova, Pa, 0x1000, ReadWrite));
        Assert.Equal(Pa, smmu.TranslateOk(Iova));
    }

    // ---------------------------------------------------------------- batches

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TranslateBatchStopsAtTheFirstFaultWithEarlierOutputsWritten(bool withHandler)
    {
        using var smmu = Create();
        DomainHandle d = smmu.AttachBase();
        var recorder = new Recorder();
        if (withHandler)
            Ok(smmu.SetFaultHandler(d, recorder.Handle));
        Ok(smmu.Map(d, Iova, Pa, 0x4000, ReadWrite));
        Ok(smmu.Map(d, Iova + 0x8000, Pa + 0x8000, 0x1000, SmmuProt.Read));
        smmu.TranslateOk(Iova);   // one hit and some misses in the batch
        const ulong Sentinel = 0xDEAD_BEEF;
        ulong[] iovas = [Iova + 0x10, Iova + 0x1020, Iova + 0x3030, Iova + 0x5000, Iova + 0x2000, Iova + 0x40];
        ulong[] pas = Enumerable.Repeat(Sentinel, iovas.Length).ToArray();
        Ok(smmu.ResetStats());

        Fails(SmmuError.Fault, smmu.TranslateBatch(Sid, iovas, pas, SmmuAccess.Read, out int done));

        Assert.Equal(3, done);
        Assert.Equal(new[] { Pa + 0x10, Pa + 0x1020, Pa + 0x3030 }, pas[..3]);
        Assert.Equal(new[] { Sentinel, Sentinel }, pas[4..]);
        Assert.Equal(1UL, smmu.Stats.Faults);
        Assert.Equal(4UL, smmu.Stats.Translations);   // the three done and the one that faulted
        if (withHandler)
            Assert.Equal(Iova + 0x5000, Assert.Single(recorder.Calls).Fault.Iova);
        else
            Ok(smmu.GetFault(0, out SmmuFault recorded));

        // A permission fault on a hit stops the batch just the same.
        Ok(smmu.ClearFault(0));
        smmu.TranslateOk(Iova + 0x8000);
        ulong[] writes = [Iova, Iova + 0x8000, Iova + 0x1000];
        ulong[] outputs = new ulong[3];
        Fails(SmmuError.Fault, smmu.TranslateBatch(Sid, writes, outputs, SmmuAccess.Write, out done));
        Assert.Equal(1, done);
        Assert.Equal(Pa, outputs[0]);
        Assert.Equal(0UL, outputs[2]);
    }

    [Fact]
    public void TranslateBatchContinuesAfterARetriedFault()
    {
        using var smmu = Create();
        DomainHandle d = smmu.AttachBase();
        var recorder = new Recorder
        {
            Then = (s, f) => s.Map(d, f.Iova & ~0xFFFUL, Pa + (f.Iova & 0xF000), 0x1000, ReadWrite) == SmmuError.Ok
                ? FaultVerdict.Retry : FaultVerdict.Terminate,
        };
        Ok(smmu.SetFaultHandler(d, recorder.Handle));
        ulong[] iovas = [Iova, Iova + 0x1008, Iova + 8, Iova + 0x2010];
        ulong[] pas = new ulong[4];
        Ok(smmu.TranslateBatch(Sid, iovas, pas, SmmuAccess.Read, out int done));
        Assert.Equal(4, done);
        Assert.Equal(new[] { Pa, Pa + 0x1008, Pa + 8, Pa + 0x2010 }, pas);
        Assert.Equal(3, recorder.Calls.Count);
    }
}
