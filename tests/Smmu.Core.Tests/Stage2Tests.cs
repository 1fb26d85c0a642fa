using static Smmu.Core.Tests.TestSmmu;

namespace Smmu.Core.Tests;

/// <summary>
/// Stage-2 domains (SMMU_ATTR_STAGE = 2): ARM_64_LPAE_S2 descriptors bit for bit, concatenated roots where
/// the architecture requires them, a bank that translates IPA → PA on its own, VMIDs that are unique
/// while in use and invalidated before reuse, and the stage-2 TLB maintenance (TLBIVMALL, TLBIIPAS2).
/// </summary>
public class Stage2Tests
{
    private const ulong Ipa = 0x4000_0000, Pa = 0x2_0000_0000;

    private static DomainHandle Stage2Domain(SmmuInstance smmu, uint granule = 4096)
    {
        DomainHandle d = smmu.Alloc();
        Ok(smmu.SetGranule(d, granule));
        Ok(smmu.SetStage(d, 2));
        return d;
    }

    [Theory]
    [InlineData(SmmuProt.Read, 0b01UL, 0b0101UL, 0b10UL, 0UL)]
    [InlineData(SmmuProt.Write, 0b10UL, 0b0101UL, 0b10UL, 0UL)]
    [InlineData(SmmuProt.Read | SmmuProt.Write | SmmuProt.Cache, 0b11UL, 0b1111UL, 0b11UL, 0UL)]
    [InlineData(SmmuProt.Read | SmmuProt.Mmio | SmmuProt.Cache, 0b01UL, 0b0001UL, 0b11UL, 0UL)]
    [InlineData(SmmuProt.Read | SmmuProt.NoExec, 0b01UL, 0b0101UL, 0b10UL, 0b11UL)]
    [InlineData(SmmuProt.Read | SmmuProt.Priv, 0b01UL, 0b0101UL, 0b10UL, 0UL)]   // stage 2 has no privilege: PRIV changes nothing
    public void Stage2DescriptorsAreIoPgtableArmsS2Format(SmmuProt prot, ulong s2ap, ulong memAttr, ulong sh, ulong xn)
    {
        using var smmu = Create();
        DomainHandle d = Stage2Domain(smmu);
        Ok(smmu.Map(d, Ipa, Pa, 0x1000, prot));
        Ok(smmu.AttachDevice(d, Sid));
        Ok(smmu.GetVttbr(d, out ulong vttbr));
        ulong pte = Tables.Descriptor(smmu, vttbr & Tables.PaMask, Ipa, 3);
        Assert.Equal(0b11UL, pte & 0b11);
        Assert.Equal(memAttr, pte >> 2 & 0b1111);
        Assert.Equal(s2ap, pte >> 6 & 0b11);
        Assert.Equal(sh, pte >> 8 & 0b11);
        Assert.Equal(1UL, pte >> 10 & 1);                 // AF
        Assert.Equal(0UL, pte >> 11 & 1);                 // no nG at stage 2
        Assert.Equal(xn, pte >> 53 & 0b11);                // XN written as bits 54:53 = 0b11
        Assert.Equal(Pa, pte & Tables.AddressMask);
    }

    [Fact]
    public void AStage2DomainAttachedAloneTranslatesIpaToPaWithItsRights()
    {
        using var smmu = Create();
        DomainHandle d = Stage2Domain(smmu);
        Ok(smmu.Map(d, Ipa, Pa, 0x20_0000, SmmuProt.Read));   // a 2 MiB block, read-only
        Ok(smmu.AttachDevice(d, Sid));
        Assert.Equal(Pa + 0x1234, smmu.TranslateOk(Ipa + 0x1234));
        Assert.Equal(Pa + 0x1234, smmu.TranslateOk(Ipa + 0x1234, SmmuAccess.Read | SmmuAccess.Priv));
        Assert.Equal(Pa + 0x1234, smmu.TranslateOk(Ipa + 0x1234, SmmuAccess.Exec));   // no XN
        Fails(SmmuError.Fault, smmu.Translate(Sid, Ipa, SmmuAccess.Write, out _));
        Ok(smmu.GetFault(0, out SmmuFault fault));
        Assert.Equal((FaultType.Permission, 2u, 2u, 0u, Ipa), (fault.Type, fault.Level, fault.Stage, fault.S1ptw, fault.Ipa));
        Ok(smmu.GetContextBankState(0, out ContextBankState bank));
        Assert.Equal(Ipa, bank.Ipafar);
        Assert.Equal(1u << ContextBankState.RegimeShift, bank.Flags & (3u << ContextBankState.RegimeShift));
        Assert.Equal(0UL, bank.Ttbr0);
        Ok(smmu.ClearFault(0));
        Fails(SmmuError.Fault, smmu.Translate(Sid, Ipa + 0x20_0000, SmmuAccess.Read, out _));
        Ok(smmu.GetFault(0, out fault));
        Assert.Equal((FaultType.Translation, 2u, 2u), (fault.Type, fault.Level, fault.Stage));
        Ok(smmu.ClearFault(0));
        Fails(SmmuError.Fault, smmu.Translate(Sid, 1UL << 48, SmmuAccess.Read, out _));   // beyond the IPA size
        Ok(smmu.GetFault(0, out fault));
        Assert.Equal((FaultType.Translation, 0u, 2u), (fault.Type, fault.Level, fault.Stage));
        Assert.Equal(3UL, smmu.Stats.Stage2Walks);   // the first miss and the two faulting walks; the rest hit
    }

    [Fact]
    public void VmidsAreUniqueWhileInUseAndInvalidatedBeforeReuse()
    {
        using var smmu = Create(c => c with { VmidBits = 8, NumContextBanks = 4, NumStreamIds = 8 });
        var domains = new DomainHandle[3];
        var vmids = new uint[3];
        for (int i = 0; i < 3; i++)
        {
            domains[i] = Stage2Domain(smmu);
            Fails(SmmuError.NoDevice, smmu.GetVmid(domains[i], out _));   // not in use yet
            Ok(smmu.Map(domains[i], Ipa, Pa + (ulong)i * 0x1000_0000, 0x1000, ReadWrite));
            Ok(smmu.AttachDevice(domains[i], (uint)i));
            Ok(smmu.GetVmid(domains[i], out vmids[i]));
            smmu.TranslateOk(Ipa, stream: (uint)i);
        }
        Assert.Equal(3, vmids.Distinct().Count());
        Assert.DoesNotContain(0u, vmids);
        Assert.Equal(3, smmu.TlbForTests.ValidEntries());
        Ok(smmu.DetachDevice(domains[1], 1));   // its last user: the VMID's entries go first
        Assert.Equal(2, smmu.TlbForTests.ValidEntries());
        Assert.Equal(1UL, smmu.Stats.VmidInvalidations);
        Fails(SmmuError.NoDevice, smmu.GetVmid(domains[1], out _));
        Ok(smmu.GetVttbr(domains[0], out ulong vttbr));
        Assert.Equal((ulong)vmids[0], vttbr >> 48);
    }

    [Fact]
    public void VmidsRunOutWithEnospc()
    {
        using var smmu = Create(c => c with { VmidBits = 8, NumContextBanks = 128, NumStreamIds = 512 });
        int attached = 0;
        for (uint s = 0; s < 128; s++)
        {
            DomainHandle d = Stage2Domain(smmu);
            Ok(smmu.AttachDevice(d, s));
            attached++;
        }
        Assert.Equal(128, attached);   // 128 banks < 255 VMIDs: banks run out first
        DomainHandle more = Stage2Domain(smmu);
        Fails(SmmuError.NoSpace, smmu.AttachDevice(more, 200));
    }

    [Fact]
    public void TlbInvalidateIpaReachesStage2EntriesAndInvalidateVmidEverything()
    {
        using var smmu = Create();
        DomainHandle d = Stage2Domain(smmu);
        Ok(smmu.Map(d, Ipa, Pa, 0x4000, ReadWrite));
        Ok(smmu.AttachDevice(d, Sid));
        for (ulong p = 0; p < 4; p++)
            smmu.TranslateOk(Ipa + p * 0x1000);
        Ok(smmu.GetVmid(d, out uint vmid));
        Ok(smmu.TlbInvalidateIpa(vmid, Ipa + 0x1000, 0x1000));
        Assert.Equal(1UL, smmu.Stats.TlbEntriesInvalidated);
        Ok(smmu.TlbInvalidateIpa(vmid + 1, Ipa, 0x4000));   // another VMID: nothing
        Assert.Equal(1UL, smmu.Stats.TlbEntriesInvalidated);
        Ok(smmu.TlbInvalidateVmid(vmid));
        Assert.Equal(4UL, smmu.Stats.TlbEntriesInvalidated);
        Fails(SmmuError.Invalid, smmu.TlbInvalidateVmid(0));
        Fails(SmmuError.Invalid, smmu.TlbInvalidateVmid(1u << 16));
        Fails(SmmuError.Invalid, smmu.TlbInvalidateIpa(vmid, Ipa, 0));
    }

    [Fact]
    public void UnmapOfAStage2DomainInUseInvalidatesItsIpaRange()
    {
        using var smmu = Create();
        DomainHandle d = Stage2Domain(smmu);
        Ok(smmu.Map(d, Ipa, Pa, 0x2000, ReadWrite));
        Ok(smmu.AttachDevice(d, Sid));
        smmu.TranslateOk(Ipa);
        smmu.TranslateOk(Ipa + 0x1000);
        Assert.Equal(0x1000L, smmu.Unmap(d, Ipa, 0x1000));
        Ok(smmu.Map(d, Ipa, Pa + 0x10_0000, 0x1000, ReadWrite));   // remapped elsewhere
        Assert.Equal(Pa + 0x10_0000, smmu.TranslateOk(Ipa));
        Assert.Equal(Pa + 0x1000, smmu.TranslateOk(Ipa + 0x1000));
    }

    [Fact]
    public void StageIsSetOnAFreshStage1DomainOnly()
    {
        using var smmu = Create();
        DomainHandle d = smmu.Alloc();
        Fails(SmmuError.Invalid, smmu.SetStage(d, 3));
        Fails(SmmuError.Invalid, smmu.SetStage(d, 0));
        DomainHandle dynamic = smmu.Alloc();
        Ok(smmu.SetDynamic(dynamic, true));
        Fails(SmmuError.Invalid, smmu.SetStage(dynamic, 2));
        DomainHandle s2 = Stage2Domain(smmu);
        Fails(SmmuError.Invalid, smmu.SetDynamic(s2, true));
        Fails(SmmuError.Invalid, smmu.SetNestParent(s2, s2));
        Ok(smmu.Map(s2, Ipa, Pa, 0x1000, ReadWrite));
        Fails(SmmuError.Busy, smmu.SetStage(s2, 1));
        Fails(SmmuError.NotPermitted, smmu.SetAttribute(s2, DomainAttribute.Vmid, new byte[4]));
        Fails(SmmuError.NotPermitted, smmu.SetAttribute(s2, DomainAttribute.Vttbr, new byte[8]));
        // ias 48 with a 40-bit PA and 4 KiB: 512 concatenated roots would be needed; Linux refuses it too.
        using var narrow = Create(c => c with { Oas = 40, PtPoolBase = 0x4000_0000 });
        Fails(SmmuError.Invalid, narrow.SetStage(narrow.Alloc(), 2));
    }

    /// <summary>
    /// Concatenated stage-2 roots where the architecture requires them (Linux v6.14+ arm_lpae_concat_mandatory,
    /// Arm DDI0487 R_DXBSH / R_SRKBC): the root's size in the pool says how many tables it holds.
    /// </summary>
    [Theory]
    [InlineData(4096u, 40u, 40u, 2)]      // 4K, 40-bit PA: level 1 instead of 0, 2 tables
    [InlineData(4096u, 42u, 42u, 8)]      // 4K, 42-bit PA: 8 tables
    [InlineData(16384u, 40u, 40u, 16)]    // 16K, 40-bit PA: level 2 instead of 1, 16 tables
    [InlineData(16384u, 48u, 48u, 2)]     // 16K, 48-bit input/PA: level 1 instead of 0, 2 tables
    [InlineData(4096u, 48u, 48u, 1)]      // 4K 48/48: start at level 0, no concatenation required
    [InlineData(4096u, 36u, 40u, 1)]      // starts at level 1 already
    [InlineData(65536u, 48u, 48u, 1)]     // 64K: never required
    public void TheStage2RootIsConcatenatedExactlyWhereRequired(uint granule, uint ias, uint oas, int tables)
    {
        using var smmu = Create(c => c with { Ias = ias, Oas = oas, PtPoolBase = 0x4000_0000 });
        DomainHandle d = smmu.Alloc();
        Ok(smmu.SetGranule(d, granule));
        ulong framesBefore = smmu.Stats.PtPagesInUse;
        Ok(smmu.SetStage(d, 2));
        Assert.Equal((ulong)(granule / 4096 * tables), smmu.Stats.PtPagesInUse);
        Assert.Equal(granule / 4096, framesBefore);
        Ok(smmu.AttachDevice(d, Sid));
        Ok(smmu.GetVttbr(d, out ulong vttbr));
        Assert.Equal(0UL, (vttbr & Tables.PaMask) % ((ulong)granule * (ulong)tables));   // aligned to its whole size
        // The last page of the IPA space maps through the last concatenated table.
        ulong top = (1UL << (int)ias) - granule;
        Ok(smmu.Map(d, top, 0x1000_0000, granule, ReadWrite));
        Assert.Equal(0x1000_0008UL, smmu.TranslateOk(top + 8));
    }
}
