using static Smmu.Core.Tests.TestSmmu;

namespace Smmu.Core.Tests;

/// <summary>
/// The contract's once-open questions, each decided and documented in smmu.h: the values DYNAMIC takes,
/// what a batch of zero translations checks, ranges that end exactly at 2^64, which code wins when
/// several checks fail, and the fault priority of a leaf that is wrong in several ways.
/// </summary>
public class ContractTests
{
    [Theory]
    [InlineData(2u)]
    [InlineData(0xFFFF_FFFFu)]   // -1 as int32
    [InlineData(0x7FFF_FFFFu)]   // INT_MAX
    public void DynamicTakesOnlyZeroOrOne(uint value)
    {
        using var smmu = Create();
        DomainHandle d = smmu.Alloc();
        Ok(smmu.SetDynamic(d, true));
        Fails(SmmuError.Invalid, smmu.SetAttribute(d, DomainAttribute.Dynamic, BitConverter.GetBytes(value)));
        Ok(smmu.GetDynamic(d, out bool dynamic));
        Assert.True(dynamic);   // unchanged
        Ok(smmu.SetAttribute(d, DomainAttribute.Dynamic, BitConverter.GetBytes(0u)));
        Ok(smmu.GetDynamic(d, out dynamic));
        Assert.False(dynamic);
    }

    [Fact]
    public void ABatchOfZeroTranslationsStillChecksItsStreamAndAccess()
    {
        using var smmu = Create(c => c with { NumStreamIds = 4 });
        Fails(SmmuError.NoDevice, smmu.TranslateBatch(1, [], [], SmmuAccess.Read, out int done));
        Assert.Equal(0, done);
        Fails(SmmuError.Invalid, smmu.TranslateBatch(4, [], [], SmmuAccess.Read, out _));
        Fails(SmmuError.Invalid, smmu.TranslateBatch(1, [], [], SmmuAccess.None, out _));
        smmu.AttachBase(1);
        Ok(smmu.TranslateBatch(1, [], [], SmmuAccess.Read, out done));
        Assert.Equal(0, done);
        Assert.Equal(0UL, smmu.Stats.Translations);
    }

    private const ulong TopPage = ulong.MaxValue - 0xFFF;   // 2^64 - 4 KiB

    [Fact]
    public void AnInvalidationRangeMayEndExactlyAtTwoToThe64()
    {
        using var smmu = Create();
        DomainHandle d = smmu.AttachBase();
        Ok(smmu.Map(d, Iova, Pa, 0x1000, ReadWrite));
        smmu.TranslateOk(Iova);
        uint asid = smmu.AsidOf(d);

        Ok(smmu.TlbInvalidateVa(asid, TopPage, 0x1000));      // [2^64 - 4 KiB, 2^64): nothing there
        Assert.Equal(0UL, smmu.Stats.TlbEntriesInvalidated);
        Ok(smmu.TlbInvalidateVa(asid, 0x1000, TopPage));      // [4 KiB, 2^64): takes the entry
        Assert.Equal(1UL, smmu.Stats.TlbEntriesInvalidated);
        smmu.TranslateOk(Iova);
        Ok(smmu.TlbInvalidateVaAll(0x1000, TopPage));
        Assert.Equal(2UL, smmu.Stats.TlbEntriesInvalidated);

        Fails(SmmuError.Invalid, smmu.TlbInvalidateVa(asid, TopPage, 0x2000));   // wraps past 2^64
        Fails(SmmuError.Invalid, smmu.TlbInvalidateVaAll(TopPage, 0x2000));
    }

    [Fact]
    public void MalformedBeatsOutOfRange()
    {
        using var smmu = Create(c => c with { Ias = 32 });
        DomainHandle d = smmu.Alloc();
        Fails(SmmuError.Invalid, smmu.Map(d, (1UL << 40) + 0x10, Pa, 0x1000, ReadWrite));   // misaligned and beyond ias
        Fails(SmmuError.Invalid, smmu.Map(d, 1UL << 40, Pa, 0x1000, SmmuProt.None));        // no access and beyond ias
        Fails(SmmuError.Range, smmu.Map(d, 1UL << 40, Pa, 0x1000, ReadWrite));
        Fails(SmmuError.Invalid, (int)smmu.Unmap(d, (1UL << 40) + 0x10, 0x1000));
    }

    /// <summary>
    /// A map that overlaps an existing mapping and also needs more table pages than are free is EEXIST,
    /// wherever the overlap lies — not whichever problem the walk met first — and changes nothing.
    /// </summary>
    [Theory]
    [InlineData(true)]    // the overlap is at the start: met first
    [InlineData(false)]   // the overlap is at the far end: the pages run out first
    public void OverlapBeatsOutOfTablePages(bool overlapFirst)
    {
        using var smmu = Create(c => c with { PtPoolBytes = 8 * 0x1000 });
        DomainHandle d = smmu.Alloc();
        // The new range spans 4 GiB of 4 KiB-aligned (but not 2 MiB-aligned) pages: far more level-3
        // tables than the pool has (IOVA and PA are never 2 MiB-aligned together). The existing page sits
        // at one end of it.
        const ulong Start = 0x1000, Size = 4UL << 30;
        ulong existing = overlapFirst ? Start : Start + Size - 0x1000;
        Ok(smmu.Map(d, existing, Pa, 0x1000, ReadWrite));
        SmmuStats before = smmu.Stats;

        Fails(SmmuError.Exists, smmu.Map(d, Start, 0x10_0000_0000, Size, ReadWrite));

        Assert.Equal(before.PtPagesInUse, smmu.Stats.PtPagesInUse);
        Ok(smmu.IovaToPhys(d, existing, out ulong pa));
        Assert.Equal(Pa, pa);
        Fails(SmmuError.NoEntry, smmu.IovaToPhys(d, overlapFirst ? Start + 0x1000 : Start, out _));
        // Without the overlap the same map is ENOMEM, and still changes nothing.
        Assert.Equal(0x1000L, smmu.Unmap(d, existing, 0x1000));
        ulong inUse = smmu.Stats.PtPagesInUse;
        Fails(SmmuError.NoMemory, smmu.Map(d, Start, 0x10_0000_0000, Size, ReadWrite));
        Assert.Equal(inUse, smmu.Stats.PtPagesInUse);
    }

    /// <summary>
    /// ARM ARM (VMSAv8-64, the order of fault checks on a leaf): translation, then address size, then
    /// access flag, then permission. One leaf that is beyond oas, lacks AF and is read-only, written to,
    /// reports each fault in that order as the faults are repaired one by one.
    /// </summary>
    [Fact]
    public void ALeafWrongInSeveralWaysReportsAddressSizeThenAccessFlagThenPermission()
    {
        using var smmu = Create(c => c with { Oas = 40 });
        DomainHandle d = smmu.AttachBase();
        Ok(smmu.Map(d, Iova, Pa, 0x1000, SmmuProt.Read));
        Ok(smmu.GetContextBank(d, out uint bank));
        ulong descriptorPa = Tables.DescriptorPa(smmu, Tables.Root(smmu, d), Iova, 3);
        ulong pte = Tables.Read(smmu, descriptorPa);
        ulong attributes = pte & ~Tables.AddressMask & ~(1UL << 10);   // AF cleared

        (FaultType, uint) WriteFault()
        {
            Ok(smmu.TlbInvalidateAll());
            Fails(SmmuError.Fault, smmu.Translate(Sid, Iova, SmmuAccess.Write, out _));
            Ok(smmu.GetFault(bank, out SmmuFault fault));
            Ok(smmu.ClearFault(bank));
            return (fault.Type, fault.Level);
        }

        Ok(smmu.PhysWrite64(descriptorPa, attributes | 1UL << 40));
        Assert.Equal((FaultType.AddressSize, 3u), WriteFault());
        Ok(smmu.PhysWrite64(descriptorPa, attributes | Pa));
        Assert.Equal((FaultType.AccessFlag, 3u), WriteFault());
        Ok(smmu.PhysWrite64(descriptorPa, attributes | Pa | 1UL << 10));
        Assert.Equal((FaultType.Permission, 3u), WriteFault());
        Assert.Equal(Pa, smmu.TranslateOk(Iova));
    }
}
