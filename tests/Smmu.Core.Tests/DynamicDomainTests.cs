using System.Runtime.InteropServices;
using static Smmu.Core.Tests.TestSmmu;

namespace Smmu.Core.Tests;

/// <summary>
/// Dynamic domains (SPEC §1): the seed constraints on detach and context-bank ownership, the
/// Qualcomm attribute rules, the attach rules, and handle validation.
/// </summary>
public class DynamicDomainTests
{
    private static ContextBankState Bank(SmmuInstance smmu, uint cb = 0)
    {
        Ok(smmu.GetContextBankState(cb, out ContextBankState state));
        return state;
    }

    private static uint CbOf(SmmuInstance smmu, DomainHandle d)
    {
        Ok(smmu.GetContextBank(d, out uint cb));
        return cb;
    }

    private static ulong Ttbr0Of(SmmuInstance smmu, DomainHandle d)
    {
        Ok(smmu.GetTtbr0(d, out ulong ttbr0));
        return ttbr0;
    }

    /// <summary>A dynamic domain with DYNAMIC and CONTEXT_BANK set but not attached.</summary>
    private static DomainHandle DynamicFor(SmmuInstance smmu, uint cb)
    {
        DomainHandle d = smmu.Alloc();
        Ok(smmu.SetDynamic(d, true));
        Ok(smmu.SetContextBank(d, cb));
        return d;
    }

    // ---------------------------------------------------------------- seed constraint 1

    [Fact]
    public void BaseDetachWhileDynamicsAreAttachedIsBusyAndChangesNothing()
    {
        using var smmu = Create();
        DomainHandle baseDomain = smmu.AttachBase(0);
        Ok(smmu.AttachDevice(baseDomain, 1));
        DomainHandle dyn1 = smmu.AttachDynamic(baseDomain), dyn2 = smmu.AttachDynamic(baseDomain);
        Ok(smmu.Map(dyn1, Iova, Pa, 0x1000, ReadWrite));
        Ok(smmu.Map(baseDomain, Iova, Pa + 0x10_0000, 0x1000, ReadWrite));
        Ok(smmu.SwitchDomain(dyn1));
        Assert.Equal(Pa, smmu.TranslateOk(Iova));
        ContextBankState bank = Bank(smmu);
        SmmuStats stats = smmu.Stats;
        var tlb = TlbTests.Image(smmu.TlbForTests);
        uint baseAsid = smmu.AsidOf(baseDomain);

        Fails(SmmuError.Busy, smmu.DetachDevice(baseDomain, 0));
        Fails(SmmuError.Busy, smmu.DetachDevice(baseDomain, 1));

        Assert.Equal(bank, Bank(smmu));
        Assert.Equal(stats, smmu.Stats);
        Assert.Equal(tlb, TlbTests.Image(smmu.TlbForTests));
        Assert.Equal(baseAsid, smmu.AsidOf(baseDomain));
        Assert.Equal(0u, CbOf(smmu, baseDomain));
        // Both streams still translate through the active dynamic domain.
        Assert.Equal(Pa, smmu.TranslateOk(Iova, stream: 0));
        Assert.Equal(Pa, smmu.TranslateOk(Iova, stream: 1));

        // Once the dynamic domains are gone, the base detaches.
        Ok(smmu.DetachDevice(dyn1, 0));
        Fails(SmmuError.Busy, smmu.DetachDevice(baseDomain, 0));
        Ok(smmu.DetachDevice(dyn2, 0));
        Ok(smmu.DetachDevice(baseDomain, 0));
        Ok(smmu.DetachDevice(baseDomain, 1));
    }

    // ---------------------------------------------------------------- seed constraint 3

    [Fact]
    public void DynamicDetachAndFreeNeverResetTheBankAndAnActiveOneFallsBackToTheBase()
    {
        using var smmu = Create();
        DomainHandle baseDomain = smmu.Alloc();
        Ok(smmu.SetProcId(baseDomain, 0x5));
        Ok(smmu.AttachDevice(baseDomain, Sid));
        DomainHandle dyn1 = DynamicFor(smmu, 0), dyn2 = DynamicFor(smmu, 0);
        Ok(smmu.SetProcId(dyn1, 0x11));
        Ok(smmu.SetProcId(dyn2, 0x22));
        Ok(smmu.AttachDevice(dyn1, Sid));
        Ok(smmu.AttachDevice(dyn2, Sid));
        Ok(smmu.SwitchDomain(dyn1));
        // A fault left on the bank (no handler): its registers are part of what must survive.
        Fails(SmmuError.Fault, smmu.Translate(Sid, Iova, SmmuAccess.Write, out _));
        ContextBankState before = Bank(smmu);
        Assert.Equal(2u, before.DynamicCount);
        Assert.NotEqual(0u, before.Fsr);
        ulong baseTtbr0 = Ttbr0Of(smmu, baseDomain);

        // An inactive dynamic domain: only the dynamic count changes.
        Ok(smmu.DetachDevice(dyn2, Sid));
        Assert.Equal(before with { DynamicCount = 1 }, Bank(smmu));
        Ok(smmu.DomainFree(dyn2));
        Assert.Equal(before with { DynamicCount = 1 }, Bank(smmu));

        // The active one: TTBR0/ASID/CONTEXTIDR (and the active domain) fall back to the base; the rest stays.
        Ok(smmu.DetachDevice(dyn1, Sid));
        ContextBankState expected = before with
        {
            DynamicCount = 0,
            ActiveDomain = baseDomain,
            Asid = smmu.AsidOf(baseDomain),
            Ttbr0 = baseTtbr0,
            ContextIdr = 0x5,
        };
        Assert.Equal(expected, Bank(smmu));
        Ok(smmu.DomainFree(dyn1));
        Assert.Equal(expected, Bank(smmu));
        Assert.Equal(1u, Bank(smmu).InUse);
        // The base still translates.
        Ok(smmu.Map(baseDomain, Iova, Pa, 0x1000, ReadWrite));
        Assert.Equal(Pa, smmu.TranslateOk(Iova));
    }

    [Fact]
    public void DynamicDetachInvalidatesItsAsidOnTheBaseBankAndNothingElse()
    {
        using var smmu = Create();
        DomainHandle baseDomain = smmu.AttachBase();
        DomainHandle[] domains = [baseDomain, smmu.AttachDynamic(baseDomain), smmu.AttachDynamic(baseDomain)];
        for (int k = 0; k < domains.Length; k++)
        {
            Ok(smmu.Map(domains[k], Iova, Pa + (ulong)k * 0x100_0000, 0x8000, ReadWrite));
            Ok(smmu.SwitchDomain(domains[k]));
            for (ulong off = 0; off < 0x8000; off += 0x1000)
                smmu.TranslateOk(Iova + off);
        }
        ushort leaving = (ushort)smmu.AsidOf(domains[1]);
        var before = TlbTests.Image(smmu.TlbForTests);
        Assert.Equal(8, before.Count(e => e.Asid == leaving));
        SmmuStats stats = smmu.Stats;

        Ok(smmu.DetachDevice(domains[1], Sid));

        var after = TlbTests.Image(smmu.TlbForTests);
        for (int e = 0; e < before.Length; e++)
            Assert.Equal(before[e].Asid == leaving ? before[e] with { Asid = 0 } : before[e], after[e]);
        Assert.Equal(stats.TlbInvalidations + 1, smmu.Stats.TlbInvalidations);
        Assert.Equal(stats.TlbEntriesInvalidated + 8, smmu.Stats.TlbEntriesInvalidated);
        Assert.Equal(16, smmu.TlbForTests.ValidEntries());
    }

    [Fact]
    public void OnlyTheBaseDomainsLastDetachReleasesTheBankWhichIsThenZeroedAndReusable()
    {
        using var smmu = Create(c => c with { NumContextBanks = 1 });
        DomainHandle baseDomain = smmu.AttachBase(0);
        Ok(smmu.AttachDevice(baseDomain, 1));
        Ok(smmu.Map(baseDomain, Iova, Pa, 0x1000, ReadWrite));
        smmu.TranslateOk(Iova, stream: 0);
        Fails(SmmuError.NoSpace, smmu.AttachDevice(smmu.Alloc(), 2));

        Ok(smmu.DetachDevice(baseDomain, 0));
        ContextBankState half = Bank(smmu);
        Assert.Equal(1u, half.InUse);
        Assert.Equal(1u, half.StreamCount);
        Assert.Equal(baseDomain, half.BaseDomain);
        Fails(SmmuError.NoDevice, smmu.Translate(0, Iova, SmmuAccess.Read, out _));
        Assert.Equal(Pa, smmu.TranslateOk(Iova, stream: 1));
        Assert.Equal(1, smmu.TlbForTests.ValidEntries());

        Ok(smmu.DetachDevice(baseDomain, 1));
        Assert.Equal(new ContextBankState { Size = ContextBankState.CurrentSize }, Bank(smmu));
        Assert.Equal(0, smmu.TlbForTests.ValidEntries());   // its ASID was invalidated with it
        Fails(SmmuError.NoDevice, smmu.GetAsid(baseDomain, out _));
        Fails(SmmuError.NoDevice, smmu.GetContextBank(baseDomain, out uint _));
        Fails(SmmuError.NoDevice, smmu.Translate(1, Iova, SmmuAccess.Read, out _));

        // The only bank is free again: another base domain takes it.
        DomainHandle next = smmu.AttachBase(2);
        Assert.Equal(0u, CbOf(smmu, next));
        Assert.Equal(next, Bank(smmu).BaseDomain);
        Assert.Equal(next, Bank(smmu).ActiveDomain);
        Ok(smmu.DomainFree(baseDomain));
    }

    // ---------------------------------------------------------------- attributes

    [Fact]
    public void DynamicContextBankAndProcIdOnAnAttachedDomainAreBusyAndKeepTheirValues()
    {
        using var smmu = Create();
        DomainHandle baseDomain = smmu.Alloc();
        Ok(smmu.SetProcId(baseDomain, 7));
        Ok(smmu.AttachDevice(baseDomain, Sid));
        DomainHandle dyn = DynamicFor(smmu, 0);
        Ok(smmu.SetProcId(dyn, 9));
        Ok(smmu.AttachDevice(dyn, Sid));
        foreach (var (d, dynamic, procId) in new[] { (baseDomain, false, 7u), (dyn, true, 9u) })
        {
            Fails(SmmuError.Busy, smmu.SetDynamic(d, !dynamic));
            Fails(SmmuError.Busy, smmu.SetDynamic(d, dynamic));
            Fails(dynamic ? SmmuError.Busy : SmmuError.Invalid, smmu.SetContextBank(d, 0));   // not dynamic: a value it cannot take
            Fails(SmmuError.Busy, smmu.SetProcId(d, 0x99));
            Ok(smmu.GetDynamic(d, out bool isDynamic));
            Assert.Equal(dynamic, isDynamic);
            Ok(smmu.GetProcId(d, out uint p));
            Assert.Equal(procId, p);
            Assert.Equal(0u, CbOf(smmu, d));
        }
        Assert.Equal(7u, Bank(smmu).ContextIdr);
    }

    [Fact]
    public void ContextBankOnADomainThatIsNotDynamicIsInvalid()
    {
        using var smmu = Create();
        smmu.AttachBase();
        DomainHandle d = smmu.Alloc();
        Fails(SmmuError.Invalid, smmu.SetContextBank(d, 0));
        // Clearing DYNAMIC forgets the bank: attaching is then a base attach (a new bank), not a dynamic one.
        Ok(smmu.SetDynamic(d, true));
        Ok(smmu.SetContextBank(d, 0));
        Ok(smmu.SetDynamic(d, false));
        Fails(SmmuError.Invalid, smmu.SetContextBank(d, 0));
        Ok(smmu.AttachDevice(d, 1));
        Assert.Equal(1u, CbOf(smmu, d));
    }

    [Fact]
    public void ContextBankBeyondTheBanksIsInvalid()
    {
        using var smmu = Create(c => c with { NumContextBanks = 4 });
        DomainHandle d = smmu.Alloc();
        Ok(smmu.SetDynamic(d, true));
        Ok(smmu.SetContextBank(d, 3));
        Fails(SmmuError.Invalid, smmu.SetContextBank(d, 4));
        Fails(SmmuError.Invalid, smmu.SetContextBank(d, uint.MaxValue));
        Fails(SmmuError.Invalid, smmu.GetContextBankState(4, out ContextBankState _));
    }

    [Fact]
    public void ContextBankAsidAndTtbr0ReadBeforeAttachAreNoDevice()
    {
        using var smmu = Create();
        DomainHandle baseDomain = smmu.Alloc();
        DomainHandle dyn = smmu.Alloc();
        Ok(smmu.SetDynamic(dyn, true));
        foreach (DomainHandle d in new[] { baseDomain, dyn })
        {
            Fails(SmmuError.NoDevice, smmu.GetContextBank(d, out uint _));
            Fails(SmmuError.NoDevice, smmu.GetAsid(d, out _));
            Fails(SmmuError.NoDevice, smmu.GetTtbr0(d, out _));
            // DYNAMIC and PROCID are readable at any time.
            Ok(smmu.GetDynamic(d, out _));
            Ok(smmu.GetProcId(d, out _));
        }
        // Even with CONTEXT_BANK set, a dynamic domain has no bank until it attaches.
        Ok(smmu.AttachDevice(baseDomain, Sid));
        Ok(smmu.SetContextBank(dyn, 0));
        Fails(SmmuError.NoDevice, smmu.GetContextBank(dyn, out uint _));
        Ok(smmu.AttachDevice(dyn, Sid));
        Assert.Equal(0u, CbOf(smmu, dyn));
        // And again after detach.
        Ok(smmu.DetachDevice(dyn, Sid));
        Fails(SmmuError.NoDevice, smmu.GetContextBank(dyn, out uint _));
        Fails(SmmuError.NoDevice, smmu.GetAsid(dyn, out _));
        Fails(SmmuError.NoDevice, smmu.GetTtbr0(dyn, out _));
    }

    [Fact]
    public void UnknownAttributesAndWrongSizesAreInvalid()
    {
        using var smmu = Create();
        DomainHandle d = smmu.AttachBase();
        byte[] four = new byte[4], eight = new byte[8];
        foreach (uint unknown in new uint[] { 0, 13, 42, uint.MaxValue })
        {
            Fails(SmmuError.Invalid, smmu.SetAttribute(d, (DomainAttribute)unknown, four));
            Fails(SmmuError.Invalid, smmu.GetAttribute(d, (DomainAttribute)unknown, four));
            Fails(SmmuError.Invalid, smmu.GetAttribute(d, (DomainAttribute)unknown, eight));
        }
        DomainHandle free = smmu.Alloc();
        foreach (int size in new[] { 0, 1, 2, 3, 5, 8 })
        {
            var data = new byte[size];
            Fails(SmmuError.Invalid, smmu.SetAttribute(free, DomainAttribute.Dynamic, data));
            Fails(SmmuError.Invalid, smmu.SetAttribute(free, DomainAttribute.ProcId, data));
            Fails(SmmuError.Invalid, smmu.GetAttribute(d, DomainAttribute.Dynamic, data));
            Fails(SmmuError.Invalid, smmu.GetAttribute(d, DomainAttribute.ContextBank, data));
            Fails(SmmuError.Invalid, smmu.GetAttribute(d, DomainAttribute.Asid, data));
            Fails(SmmuError.Invalid, smmu.GetAttribute(d, DomainAttribute.ProcId, data));
        }
        Ok(smmu.SetDynamic(free, true));
        Fails(SmmuError.Invalid, smmu.SetAttribute(free, DomainAttribute.ContextBank, new byte[8]));
        foreach (int size in new[] { 0, 4, 7, 16 })
            Fails(SmmuError.Invalid, smmu.GetAttribute(d, DomainAttribute.Ttbr0, new byte[size]));
        // The failed sets changed nothing.
        Ok(smmu.GetProcId(free, out uint procId));
        Assert.Equal(0u, procId);
    }

    [Fact]
    public void AsidAndTtbr0AreReadOnly()
    {
        using var smmu = Create();
        DomainHandle d = smmu.Alloc();
        foreach (var attribute in new[] { DomainAttribute.Asid, DomainAttribute.Ttbr0 })
        {
            Fails(SmmuError.NotPermitted, smmu.SetAttribute(d, attribute, new byte[4]));
            Fails(SmmuError.NotPermitted, smmu.SetAttribute(d, attribute, new byte[8]));
        }
        Ok(smmu.AttachDevice(d, Sid));
        uint asid = smmu.AsidOf(d);
        ulong ttbr0 = Ttbr0Of(smmu, d);
        byte[] forged = BitConverter.GetBytes(0x1234_5678_9ABC_DEF0UL);
        Fails(SmmuError.NotPermitted, smmu.SetAttribute(d, DomainAttribute.Asid, forged.AsSpan(0, 4)));
        Fails(SmmuError.NotPermitted, smmu.SetAttribute(d, DomainAttribute.Ttbr0, forged));
        Assert.Equal(asid, smmu.AsidOf(d));
        Assert.Equal(ttbr0, Ttbr0Of(smmu, d));
    }

    [Fact]
    public void Ttbr0IsTheRootTableAddressWithTheAsidInBits63To48()
    {
        using var smmu = Create();
        DomainHandle baseDomain = smmu.AttachBase();
        DomainHandle dyn = smmu.AttachDynamic(baseDomain);
        SmmuConfig config = smmu.Config;
        foreach (DomainHandle d in new[] { baseDomain, dyn })
        {
            ulong ttbr0 = Ttbr0Of(smmu, d);
            Assert.Equal(smmu.AsidOf(d), (uint)(ttbr0 >> 48));
            ulong root = ttbr0 & 0x0000_FFFF_FFFF_FFFF;
            Assert.Equal(0UL, root & 0xFFF);
            Assert.InRange(root, config.PtPoolBase, config.PtPoolBase + config.PtPoolBytes - 0x1000);
            // It is the table the walk starts at: after a map, the level-0 slot of the IOVA holds a table descriptor.
            Ok(smmu.Map(d, Iova, Pa, 0x1000, ReadWrite));
            Ok(smmu.PhysRead64(root + ((Iova >> 39) & 511) * 8, out ulong descriptor));
            Assert.Equal(0b11UL, descriptor & 0b11);
            // The raw attribute is the same 8 bytes.
            byte[] raw = new byte[8];
            Ok(smmu.GetAttribute(d, DomainAttribute.Ttbr0, raw));
            Assert.Equal(ttbr0, MemoryMarshal.Read<ulong>(raw));
            // The bank holds the same image while the domain is active.
            Ok(smmu.SwitchDomain(d));
            Assert.Equal(ttbr0, Bank(smmu).Ttbr0);
            Assert.Equal(smmu.AsidOf(d), Bank(smmu).Asid);
        }
        Assert.NotEqual(Ttbr0Of(smmu, baseDomain) & 0xFFFF_FFFF_FFFF, Ttbr0Of(smmu, dyn) & 0xFFFF_FFFF_FFFF);
    }

    [Fact]
    public void ProcIdShowsAsContextIdrOfTheActiveDomain()
    {
        using var smmu = Create();
        DomainHandle baseDomain = smmu.Alloc();
        Ok(smmu.SetProcId(baseDomain, 0x100));
        Ok(smmu.AttachDevice(baseDomain, Sid));
        Assert.Equal(0x100u, Bank(smmu).ContextIdr);
        DomainHandle dyn1 = DynamicFor(smmu, 0), dyn2 = DynamicFor(smmu, 0);
        Ok(smmu.SetProcId(dyn1, 0x201));
        Ok(smmu.SetProcId(dyn2, 0x202));
        Ok(smmu.AttachDevice(dyn1, Sid));
        Ok(smmu.AttachDevice(dyn2, Sid));
        Assert.Equal(0x100u, Bank(smmu).ContextIdr);   // attaching a dynamic domain does not reprogram the bank
        Ok(smmu.SwitchDomain(dyn2));
        Assert.Equal(0x202u, Bank(smmu).ContextIdr);
        Ok(smmu.SwitchDomain(dyn1));
        Assert.Equal(0x201u, Bank(smmu).ContextIdr);
        Ok(smmu.SwitchDomain(baseDomain));
        Assert.Equal(0x100u, Bank(smmu).ContextIdr);
        // Raw access: PROCID is a uint32 in host byte order.
        byte[] raw = new byte[4];
        Ok(smmu.GetAttribute(dyn2, DomainAttribute.ProcId, raw));
        Assert.Equal(0x202u, MemoryMarshal.Read<uint>(raw));
    }

    // ---------------------------------------------------------------- attach rules

    [Fact]
    public void ADynamicDomainWithoutContextBankCannotAttach()
    {
        using var smmu = Create();
        smmu.AttachBase();
        DomainHandle dyn = smmu.Alloc();
        Ok(smmu.SetDynamic(dyn, true));
        ContextBankState bank = Bank(smmu);
        Fails(SmmuError.NoDevice, smmu.AttachDevice(dyn, Sid));
        Assert.Equal(bank, Bank(smmu));
        Fails(SmmuError.NoDevice, smmu.GetAsid(dyn, out _));
    }

    [Fact]
    public void ADynamicDomainCannotAttachToABankNoBaseHoldsForThatStream()
    {
        using var smmu = Create();
        DomainHandle baseA = smmu.AttachBase(0);   // bank 0
        DomainHandle baseB = smmu.AttachBase(1);   // bank 1
        Assert.Equal(1u, CbOf(smmu, baseB));
        DomainHandle onBank3 = DynamicFor(smmu, 3), onBank1 = DynamicFor(smmu, 1), onBank0 = DynamicFor(smmu, 0);
        ContextBankState bank0 = Bank(smmu, 0), bank1 = Bank(smmu, 1), bank3 = Bank(smmu, 3);
        SmmuStats stats = smmu.Stats;

        Fails(SmmuError.NoDevice, smmu.AttachDevice(onBank3, 0));   // bank 3: no base holds it
        Fails(SmmuError.NoDevice, smmu.AttachDevice(onBank1, 0));   // bank 1 is held, but for stream 1
        Fails(SmmuError.NoDevice, smmu.AttachDevice(onBank0, 1));   // bank 0 is held, but for stream 0
        Fails(SmmuError.NoDevice, smmu.AttachDevice(onBank0, 9));   // stream 9 is not routed at all
        Fails(SmmuError.NoDevice, smmu.GetAsid(onBank0, out _));

        Assert.Equal(bank0, Bank(smmu, 0));
        Assert.Equal(bank1, Bank(smmu, 1));
        Assert.Equal(bank3, Bank(smmu, 3));
        Assert.Equal(stats, smmu.Stats);
        // The right pairing works.
        smmu.AttachDynamic(baseA, 0);
        smmu.AttachDynamic(baseB, 1);
    }

    [Fact]
    public void AttachingADynamicDomainTwiceIsBusy()
    {
        using var smmu = Create();
        DomainHandle baseDomain = smmu.AttachBase(0);
        Ok(smmu.AttachDevice(baseDomain, 1));
        DomainHandle dyn = smmu.AttachDynamic(baseDomain, 0);
        uint asid = smmu.AsidOf(dyn);
        ContextBankState bank = Bank(smmu);
        Fails(SmmuError.Busy, smmu.AttachDevice(dyn, 0));
        Fails(SmmuError.Busy, smmu.AttachDevice(dyn, 1));
        Assert.Equal(bank, Bank(smmu));
        Assert.Equal(1u, bank.DynamicCount);
        Assert.Equal(asid, smmu.AsidOf(dyn));
    }

    [Fact]
    public void ABaseDomainOnAFurtherStreamSharesItsContextBank()
    {
        using var smmu = Create();
        DomainHandle baseDomain = smmu.AttachBase(3);
        Ok(smmu.AttachDevice(baseDomain, 7));
        Assert.Equal(0u, CbOf(smmu, baseDomain));
        Assert.Equal(2u, Bank(smmu).StreamCount);
        Assert.Equal(0u, Bank(smmu, 1).InUse);
        Ok(smmu.Map(baseDomain, Iova, Pa, 0x1000, ReadWrite));
        Assert.Equal(Pa + 1, smmu.TranslateOk(Iova + 1, stream: 3));
        Assert.Equal(Pa + 2, smmu.TranslateOk(Iova + 2, stream: 7));
        Assert.Equal(1UL, smmu.Stats.TlbMisses);   // one bank, one ASID, one TLB entry
        // A dynamic domain attaches through either stream.
        DomainHandle dyn = smmu.AttachDynamic(baseDomain, 7);
        Assert.Equal(0u, CbOf(smmu, dyn));
    }

    [Fact]
    public void AStreamAlreadyAttachedIsBusy()
    {
        using var smmu = Create();
        DomainHandle first = smmu.AttachBase(0);
        DomainHandle second = smmu.Alloc();
        ContextBankState bank0 = Bank(smmu, 0), bank1 = Bank(smmu, 1);
        Fails(SmmuError.Busy, smmu.AttachDevice(second, 0));
        Fails(SmmuError.Busy, smmu.AttachDevice(first, 0));
        Assert.Equal(bank0, Bank(smmu, 0));
        Assert.Equal(bank1, Bank(smmu, 1));
        Fails(SmmuError.NoDevice, smmu.GetAsid(second, out _));
        Fails(SmmuError.Invalid, smmu.AttachDevice(second, 128));   // beyond num_stream_ids
    }

    [Fact]
    public void NoFreeContextBankIsNoSpaceAndTakesNoAsid()
    {
        using var smmu = Create(c => c with { NumContextBanks = 2, AsidBits = 8 });
        DomainHandle a = smmu.AttachBase(0), b = smmu.AttachBase(1);
        DomainHandle c = smmu.Alloc();
        Fails(SmmuError.NoSpace, smmu.AttachDevice(c, 2));
        Fails(SmmuError.NoDevice, smmu.GetAsid(c, out _));
        Fails(SmmuError.NoDevice, smmu.Translate(2, Iova, SmmuAccess.Read, out _));
        // Had the failed attach taken an ASID, the next one would be 4, not 3.
        DomainHandle dyn = smmu.AttachDynamic(a, 0);
        Assert.Equal(3u, smmu.AsidOf(dyn));
        Ok(smmu.DetachDevice(dyn, 0));
        Ok(smmu.DetachDevice(b, 1));
        Ok(smmu.AttachDevice(c, 2));
        Assert.Equal(1u, CbOf(smmu, c));
    }

    [Fact]
    public void DetachThroughAStreamTheDomainIsNotAttachedOnIsNoDevice()
    {
        using var smmu = Create();
        DomainHandle baseA = smmu.AttachBase(0);
        Ok(smmu.AttachDevice(baseA, 1));
        DomainHandle baseB = smmu.AttachBase(2);
        DomainHandle dyn = smmu.AttachDynamic(baseA, 0);
        DomainHandle never = smmu.Alloc();
        ContextBankState bank0 = Bank(smmu, 0), bank1 = Bank(smmu, 1);

        Fails(SmmuError.NoDevice, smmu.DetachDevice(baseB, 0));    // stream 0 is baseA's
        Fails(SmmuError.NoDevice, smmu.DetachDevice(baseB, 5));    // stream 5 is not routed
        Fails(SmmuError.NoDevice, smmu.DetachDevice(dyn, 1));      // dyn came in through stream 0
        Fails(SmmuError.NoDevice, smmu.DetachDevice(never, 0));    // never attached
        Fails(SmmuError.Invalid, smmu.DetachDevice(baseA, 128));   // beyond num_stream_ids

        Assert.Equal(bank0, Bank(smmu, 0));
        Assert.Equal(bank1, Bank(smmu, 1));
        Ok(smmu.DetachDevice(dyn, 0));
        Ok(smmu.DetachDevice(baseA, 1));
        Ok(smmu.DetachDevice(baseA, 0));
        Fails(SmmuError.NoDevice, smmu.DetachDevice(baseA, 0));    // already detached
    }

    [Fact]
    public void FreeingAnAttachedDomainIsBusy()
    {
        using var smmu = Create();
        DomainHandle baseDomain = smmu.AttachBase();
        DomainHandle dyn = smmu.AttachDynamic(baseDomain);
        Ok(smmu.Map(dyn, Iova, Pa, 0x1000, ReadWrite));
        int domains = smmu.DomainCount;
        ulong pagesInUse = smmu.Stats.PtPagesInUse;
        Fails(SmmuError.Busy, smmu.DomainFree(baseDomain));
        Fails(SmmuError.Busy, smmu.DomainFree(dyn));
        Assert.Equal(domains, smmu.DomainCount);
        Assert.Equal(pagesInUse, smmu.Stats.PtPagesInUse);
        Ok(smmu.IovaToPhys(dyn, Iova, out ulong pa));
        Assert.Equal(Pa, pa);
        Ok(smmu.DetachDevice(dyn, Sid));
        Ok(smmu.DomainFree(dyn));
    }

    // ---------------------------------------------------------------- handles

    public static TheoryData<string> BadHandleKinds => new() { "freed", "zero", "forged generation", "forged index", "instance kind" };

    private static DomainHandle BadHandle(SmmuInstance smmu, string kind, DomainHandle live)
    {
        HandleCodec.TryDecodeDomain(live.Value, out int owner, out int index, out int generation);
        switch (kind)
        {
            case "freed":
                DomainHandle d = smmu.Alloc();
                Ok(smmu.DomainFree(d));
                return d;
            case "zero":
                return DomainHandle.None;
            case "forged generation":
                return new DomainHandle(HandleCodec.EncodeDomain(owner, index, generation + 1));
            case "forged index":
                return new DomainHandle(HandleCodec.EncodeDomain(owner, 1000, 1));
            default:
                return new DomainHandle(HandleCodec.EncodeInstance(index, generation));
        }
    }

    [Theory]
    [MemberData(nameof(BadHandleKinds))]
    public void EveryDomainCallRejectsABadHandle(string kind)
    {
        using var smmu = Create();
        DomainHandle live = smmu.AttachBase();
        DomainHandle bad = BadHandle(smmu, kind, live);
        Assert.NotEqual(live, bad);
        Ok(smmu.GetContextBankState(0, out ContextBankState bank));
        SmmuStats stats = smmu.Stats;
        int count = smmu.DomainCount;

        Fails(SmmuError.BadHandle, smmu.DomainFree(bad));
        Fails(SmmuError.BadHandle, smmu.AttachDevice(bad, 1));
        Fails(SmmuError.BadHandle, smmu.DetachDevice(bad, Sid));
        Fails(SmmuError.BadHandle, smmu.SwitchDomain(bad));
        Fails(SmmuError.BadHandle, smmu.SetDynamic(bad, true));
        Fails(SmmuError.BadHandle, smmu.SetContextBank(bad, 0));
        Fails(SmmuError.BadHandle, smmu.SetProcId(bad, 1));
        Fails(SmmuError.BadHandle, smmu.SetAttribute(bad, DomainAttribute.Asid, new byte[4]));
        Fails(SmmuError.BadHandle, smmu.GetDynamic(bad, out _));
        Fails(SmmuError.BadHandle, smmu.GetProcId(bad, out _));
        Fails(SmmuError.BadHandle, smmu.GetAsid(bad, out _));
        Fails(SmmuError.BadHandle, smmu.GetTtbr0(bad, out _));
        Fails(SmmuError.BadHandle, smmu.GetContextBank(bad, out uint _));
        Fails(SmmuError.BadHandle, smmu.Map(bad, Iova, Pa, 0x1000, ReadWrite));
        Fails(SmmuError.BadHandle, (int)smmu.Unmap(bad, Iova, 0x1000));
        Fails(SmmuError.BadHandle, smmu.IovaToPhys(bad, Iova, out _));
        Fails(SmmuError.BadHandle, smmu.SetFaultHandler(bad, (_, _, in _) => FaultVerdict.Terminate));

        Ok(smmu.GetContextBankState(0, out ContextBankState bankAfter));
        Assert.Equal(bank, bankAfter);
        Assert.Equal(count, smmu.DomainCount);
        Assert.Equal(stats, smmu.Stats);
        Assert.Equal(0u, Bank(smmu, 1).InUse);
        // The live handle still works.
        Ok(smmu.Map(live, Iova, Pa, 0x1000, ReadWrite));
    }

    [Fact]
    public void AFreedHandleStaysStaleWhenItsSlotIsReused()
    {
        using var smmu = Create();
        DomainHandle old = smmu.Alloc();
        Ok(smmu.DomainFree(old));
        DomainHandle reused = smmu.Alloc();   // the only free slot: the same index, the next generation
        HandleCodec.TryDecodeDomain(old.Value, out _, out int oldIndex, out int oldGeneration);
        HandleCodec.TryDecodeDomain(reused.Value, out _, out int newIndex, out int newGeneration);
        Assert.Equal(oldIndex, newIndex);
        Assert.NotEqual(oldGeneration, newGeneration);
        Fails(SmmuError.BadHandle, smmu.AttachDevice(old, Sid));
        Fails(SmmuError.BadHandle, smmu.DomainFree(old));
        Ok(smmu.AttachDevice(reused, Sid));
    }
}
