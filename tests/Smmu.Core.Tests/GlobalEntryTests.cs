using Smmu.Core.Translation;
using static Smmu.Core.Tests.TestSmmu;

namespace Smmu.Core.Tests;

/// <summary>
/// Global mappings (SMMU_PROT_GLOBAL, nG = 0): one TLB entry serves every ASID, lives in its page's
/// unsalted set (a salted set would depend on the ASID that filled it), and follows the ARM ARM's TLB
/// maintenance rules — by ASID spares it; by VA, by VA for all ASIDs, and all remove it — at every width.
/// </summary>
[Trait("Category", "Simd")]
public class GlobalEntryTests
{
    private static readonly SimdWidth[] Widths = [SimdWidth.Scalar, SimdWidth.Vector128, SimdWidth.Vector256, SimdWidth.Vector512];

    public static TheoryData<SimdWidth> AllWidths
    {
        get
        {
            var data = new TheoryData<SimdWidth>();
            foreach (SimdWidth w in Widths)
                data.Add(w);
            return data;
        }
    }

    /// <summary>A base and 8 dynamic domains on one bank; the base maps a global page, each process a page of its own.</summary>
    private sealed class Bank : IDisposable
    {
        public const ulong GlobalIova = 0x7000_0000, OwnIova = 0x1000_0000, GlobalPa = 0x5_0000_0000;
        public readonly SmmuInstance Smmu;
        public readonly DomainHandle Base;
        public readonly DomainHandle[] Processes = new DomainHandle[8];

        public Bank(SimdWidth width, uint tlbEntries = 1024, uint tlbWays = 8)
        {
            Smmu = Create(c => c with { TlbEntries = tlbEntries, TlbWays = tlbWays }, width);
            Base = Smmu.AttachBase();
            for (int i = 0; i < Processes.Length; i++)
            {
                Processes[i] = Smmu.AttachDynamic(Base);
                Ok(Smmu.Map(Processes[i], OwnIova, 0x6_0000_0000 + (ulong)i * 0x1000, 0x1000, ReadWrite));
                // Every process maps the same global page (as a driver maps its shared buffers into each).
                Ok(Smmu.Map(Processes[i], GlobalIova, GlobalPa, 0x4000, ReadWrite | SmmuProt.Global));
            }
        }

        public void Dispose() => Smmu.Dispose();
    }

    /// <summary>
    /// A batch's misses after the TLB holds only pages with an ASID take the page-only miss loop (Tlb.RunPageMissesOneGroup);
    /// a global page must still be cached without an ASID (it hands that walk to the general loop): another process hits it.
    /// </summary>
    [Theory]
    [MemberData(nameof(AllWidths))]
    public void BatchMissesAfterPrivatePagesCacheGlobalPagesForEveryProcess(SimdWidth width)
    {
        using var bank = new Bank(width);
        SmmuInstance smmu = bank.Smmu;
        var pas = new ulong[4];
        Ok(smmu.SwitchDomain(bank.Processes[0]));
        Ok(smmu.TranslateBatch(Sid, [Bank.OwnIova], pas, SmmuAccess.Read, out _));   // the TLB: one page, with an ASID
        Ok(smmu.TranslateBatch(Sid, [Bank.OwnIova, Bank.GlobalIova, Bank.GlobalIova + 0x1000, Bank.GlobalIova + 0x2000], pas,
                               SmmuAccess.Read, out int done));
        Assert.Equal(4, done);
        Assert.Equal(Bank.GlobalPa + 0x2000, pas[3]);
        Assert.Equal(4UL, smmu.Stats.TlbMisses);
        Ok(smmu.SwitchDomain(bank.Processes[5]));
        Ok(smmu.TranslateBatch(Sid, [Bank.GlobalIova + 0x2008, Bank.GlobalIova + 0x1010, Bank.GlobalIova], pas, SmmuAccess.Read, out _));
        Assert.Equal(Bank.GlobalPa + 0x1010, pas[1]);
        Assert.Equal(4UL, smmu.Stats.TlbMisses);   // all three hit the entries process 0's batch filled
    }

    /// <summary>As above for single translations, whose miss takes the page-only fill in the same TLB state.</summary>
    [Theory]
    [MemberData(nameof(AllWidths))]
    public void SingleMissesAfterPrivatePagesCacheGlobalPagesForEveryProcess(SimdWidth width)
    {
        using var bank = new Bank(width);
        SmmuInstance smmu = bank.Smmu;
        Ok(smmu.SwitchDomain(bank.Processes[0]));
        smmu.TranslateOk(Bank.OwnIova);   // the TLB: one page, with an ASID
        Assert.Equal(Bank.GlobalPa + 0x1008, smmu.TranslateOk(Bank.GlobalIova + 0x1008));
        Ok(smmu.SwitchDomain(bank.Processes[5]));
        Assert.Equal(Bank.GlobalPa + 0x1010, smmu.TranslateOk(Bank.GlobalIova + 0x1010));
        Assert.Equal(2UL, smmu.Stats.TlbMisses);   // process 5 hit the entry process 0's miss filled
    }

    [Theory]
    [MemberData(nameof(AllWidths))]
    public void SwitchingProcessesCostsNoMissOnGlobalBuffers(SimdWidth width)
    {
        using var bank = new Bank(width);
        SmmuInstance smmu = bank.Smmu;
        var batch = new ulong[] { Bank.GlobalIova, Bank.GlobalIova + 0x1000, Bank.GlobalIova + 0x2000, Bank.GlobalIova + 0x3000, Bank.OwnIova };
        var pas = new ulong[batch.Length];
        foreach (DomainHandle p in bank.Processes)   // warm-up: each process fills its own page
        {
            Ok(smmu.SwitchDomain(p));
            Ok(smmu.TranslateBatch(Sid, batch, pas, SmmuAccess.Read, out _));
        }
        Assert.Equal(4UL + 8, smmu.Stats.TlbMisses);   // the 4 global pages once, each process's own page once
        Ok(smmu.ResetStats());
        for (int round = 0; round < 10; round++)
            foreach (DomainHandle p in bank.Processes)
            {
                Ok(smmu.SwitchDomain(p));
                Ok(smmu.TranslateBatch(Sid, batch, pas, SmmuAccess.Read, out _));
                Assert.Equal(Bank.GlobalPa + 0x3000, pas[3]);
                Ok(smmu.Translate(Sid, Bank.GlobalIova + 0x2010, SmmuAccess.Read, out ulong single));
                Assert.Equal(Bank.GlobalPa + 0x2010, single);
            }
        Assert.Equal(0UL, smmu.Stats.TlbMisses);
        Assert.Equal(80UL * 6, smmu.Stats.TlbHits);
    }

    [Theory]
    [MemberData(nameof(AllWidths))]
    public void AGlobalEntryIsFoundFromEveryAsidBecauseItsSetIgnoresTheAsid(SimdWidth width)
    {
        using var bank = new Bank(width, tlbEntries: 64, tlbWays: 4);
        SmmuInstance smmu = bank.Smmu;
        Ok(smmu.SwitchDomain(bank.Processes[3]));
        smmu.TranslateOk(Bank.GlobalIova);
        Tlb tlb = smmu.TlbForTests;
        int entry = TlbTests.Lookup(tlb, Bank.GlobalIova, (ushort)smmu.AsidOf(bank.Processes[5]));
        Assert.True(entry >= 0);
        Assert.Equal(TlbLayout.NoAsid, tlb.EntryAt(entry).Asid);
        Assert.Equal(tlb.SetOf(Bank.GlobalIova, TlbLayout.NoAsid, 0), entry / tlb.Ways);   // the unsalted set
        Assert.NotEqual(0u, tlb.NoAsidClassesPresent & 1);
    }

    /// <summary>ARM ARM: a TLB invalidate by ASID affects only non-global entries of that ASID.</summary>
    [Theory]
    [MemberData(nameof(AllWidths))]
    public void InvalidateByAsidSparesGlobalEntries(SimdWidth width)
    {
        using var bank = new Bank(width);
        SmmuInstance smmu = bank.Smmu;
        DomainHandle p = bank.Processes[0];
        Ok(smmu.SwitchDomain(p));
        smmu.TranslateOk(Bank.GlobalIova);
        smmu.TranslateOk(Bank.OwnIova);
        Ok(smmu.TlbInvalidateAsid(smmu.AsidOf(p)));
        Assert.Equal(1UL, smmu.Stats.TlbEntriesInvalidated);   // the process's own page, not the global one
        Ok(smmu.ResetStats());
        smmu.TranslateOk(Bank.GlobalIova);
        Assert.Equal(0UL, smmu.Stats.TlbMisses);
        // So does the ASID's release at detach.
        Ok(smmu.DetachDevice(p, Sid));
        Ok(smmu.SwitchDomain(bank.Processes[1]));
        smmu.TranslateOk(Bank.GlobalIova);
        Assert.Equal(0UL, smmu.Stats.TlbMisses);
    }

    /// <summary>ARM ARM: TLBIVA invalidates the entries of the ASID for the VA, and global entries for the VA.</summary>
    [Theory]
    [MemberData(nameof(AllWidths))]
    public void InvalidateByVaRemovesTheGlobalEntryForThatVa(SimdWidth width)
    {
        using var bank = new Bank(width);
        SmmuInstance smmu = bank.Smmu;
        Ok(smmu.SwitchDomain(bank.Processes[0]));
        smmu.TranslateOk(Bank.GlobalIova);
        smmu.TranslateOk(Bank.GlobalIova + 0x1000);
        uint other = smmu.AsidOf(bank.Processes[7]);   // any ASID: a global entry matches them all
        Ok(smmu.TlbInvalidateVa(other, Bank.GlobalIova, 0x1000));
        Assert.Equal(1UL, smmu.Stats.TlbEntriesInvalidated);
        Ok(smmu.TlbInvalidateVa(0, Bank.GlobalIova + 0x1000, 0x1000));   // even an ASID never handed out
        Assert.Equal(2UL, smmu.Stats.TlbEntriesInvalidated);
        Assert.Equal(0, smmu.TlbForTests.ValidEntries());
    }

    [Theory]
    [MemberData(nameof(AllWidths))]
    public void InvalidateByVaForAllAsidsAndInvalidateAllRemoveGlobalEntries(SimdWidth width)
    {
        using var bank = new Bank(width);
        SmmuInstance smmu = bank.Smmu;
        Ok(smmu.SwitchDomain(bank.Processes[0]));
        smmu.TranslateOk(Bank.GlobalIova);
        smmu.TranslateOk(Bank.GlobalIova + 0x1000);
        Ok(smmu.TlbInvalidateVaAll(Bank.GlobalIova, 0x1000));
        Assert.Equal(1UL, smmu.Stats.TlbEntriesInvalidated);
        Ok(smmu.TlbInvalidateAll());
        Assert.Equal(2UL, smmu.Stats.TlbEntriesInvalidated);
        Assert.Equal(0u, smmu.TlbForTests.NoAsidClassesPresent);
    }

    [Theory]
    [MemberData(nameof(AllWidths))]
    public void UnmappingAGlobalPageReachesItWhicheverProcessCachedIt(SimdWidth width)
    {
        using var bank = new Bank(width);
        SmmuInstance smmu = bank.Smmu;
        Ok(smmu.SwitchDomain(bank.Processes[2]));
        smmu.TranslateOk(Bank.GlobalIova);
        // Process 5 unmaps its own mapping of the shared page (and remaps it elsewhere): no process may see the old PA.
        Assert.Equal(0x4000L, smmu.Unmap(bank.Processes[5], Bank.GlobalIova, 0x4000));
        Ok(smmu.Map(bank.Processes[5], Bank.GlobalIova, 0x7_0000_0000, 0x1000, ReadWrite));
        Ok(smmu.SwitchDomain(bank.Processes[5]));
        Assert.Equal(0x7_0000_0000UL, smmu.TranslateOk(Bank.GlobalIova));
        Ok(smmu.SwitchDomain(bank.Processes[2]));
        Assert.Equal(Bank.GlobalPa, smmu.TranslateOk(Bank.GlobalIova));   // refilled from its own tables
    }

    [Fact]
    public void FreeingADomainWithGlobalMappingsInvalidatesTheirEntries()
    {
        using var smmu = Create();
        DomainHandle baseDomain = smmu.AttachBase();
        DomainHandle p = smmu.AttachDynamic(baseDomain);
        Ok(smmu.Map(p, 0x2000_0000, 0x3_0000_0000, 0x1000, ReadWrite | SmmuProt.Global));
        Ok(smmu.SwitchDomain(p));
        smmu.TranslateOk(0x2000_0000);
        Ok(smmu.DetachDevice(p, Sid));
        Assert.Equal(1, smmu.TlbForTests.ValidEntries());   // TLBIASID spared it
        Ok(smmu.DomainFree(p));
        Assert.Equal(0, smmu.TlbForTests.ValidEntries());
        Fails(SmmuError.Fault, smmu.Translate(Sid, 0x2000_0000, SmmuAccess.Read, out _));   // the base never mapped it
    }

    [Fact]
    public void GlobalIsAStage1AttributeAndTheDescriptorsNgBitIsClear()
    {
        using var smmu = Create();
        DomainHandle s2 = smmu.Alloc();
        Ok(smmu.SetStage(s2, 2));
        Fails(SmmuError.Invalid, smmu.Map(s2, 0x1000_0000, 0x1000_0000, 0x1000, ReadWrite | SmmuProt.Global));
        DomainHandle d = smmu.AttachBase();
        Ok(smmu.Map(d, 0x1000_0000, 0x2000_0000, 0x1000, ReadWrite | SmmuProt.Global));
        Ok(smmu.Map(d, 0x1000_1000, 0x2000_1000, 0x1000, ReadWrite));
        ulong root = Tables.Root(smmu, d);
        Assert.Equal(0UL, Tables.Descriptor(smmu, root, 0x1000_0000, 3) >> 11 & 1);
        Assert.Equal(1UL, Tables.Descriptor(smmu, root, 0x1000_1000, 3) >> 11 & 1);
    }

    /// <summary>
    /// Stage-1 banks all have VMID 0, as arm-smmu programs them (CBAR.VMID is written for stage-2 banks
    /// only), and a global entry matches every ASID of its VMID: one device's global mapping, once cached,
    /// serves another stage-1 bank's lookups of that address too — what the hardware does, and why drivers
    /// keep global buffers to one bank (or at addresses no other bank uses). Found by the property test.
    /// </summary>
    [Fact]
    public void AGlobalEntryIsSharedByEveryStage1Bank()
    {
        using SmmuInstance smmu = Create(c => c with { NumStreamIds = 2 });
        DomainHandle a = smmu.AttachBase(0), b = smmu.AttachBase(1);
        Ok(smmu.Map(a, 0x10000, 0x5000_0000, 0x1000, SmmuProt.Read | SmmuProt.Global));
        Fails(SmmuError.Fault, smmu.Translate(1, 0x10000, SmmuAccess.Read, out _));   // b maps nothing, nothing cached
        Assert.Equal(0x5000_0000UL, smmu.TranslateOk(0x10000, stream: 0));
        Assert.Equal(0x5000_0000UL, smmu.TranslateOk(0x10000, stream: 1));           // a's global entry, through b's bank
        Ok(smmu.TlbInvalidateVaAll(0x10000, 0x1000));
        Fails(SmmuError.Fault, smmu.Translate(1, 0x10000, SmmuAccess.Read, out _));
        Assert.NotEqual(smmu.AsidOf(a), smmu.AsidOf(b));
        _ = b;
    }

    /// <summary>
    /// A global 4 KiB entry and another process's 2 MiB entry cover the same IOVA: a lookup probes class by
    /// class, smallest first, the ASID's set and then the unsalted one — in a batch exactly as in a single
    /// translation (found by the C test of the header's inline path: the batch loop once probed every
    /// class's own set before any unsalted one).
    /// </summary>
    [Theory]
    [MemberData(nameof(AllWidths))]
    public void ABatchProbesClassesInTheOrderASingleTranslationDoes(SimdWidth width)
    {
        using SmmuInstance smmu = Create(change: null, width);
        DomainHandle b = smmu.AttachBase(), p = smmu.AttachDynamic(b);
        Ok(smmu.Map(b, 0x1000_0000, 0x20_0000_0000, 0x1000, SmmuProt.Read | SmmuProt.Global));
        Ok(smmu.Map(p, 0x1000_0000, 0x30_0000_0000, 0x20_0000, SmmuProt.Read));
        Assert.Equal(0x20_0000_0000UL, smmu.TranslateOk(0x1000_0000));       // the base is active: the global 4K entry
        Ok(smmu.SwitchDomain(p));
        Assert.Equal(0x30_0000_1000UL, smmu.TranslateOk(0x1000_1000));       // the process's 2M entry
        ulong single = smmu.TranslateOk(0x1000_0000);
        var pas = new ulong[1];
        Ok(smmu.TranslateBatch(Sid, [0x1000_0000UL], pas, SmmuAccess.Read, out _));
        Assert.Equal(0x20_0000_0000UL, single);
        Assert.Equal(single, pas[0]);
    }
}
