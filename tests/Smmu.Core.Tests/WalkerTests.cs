using Smmu.Core.Translation;
using Smmu.Core;
using static Smmu.Core.Tests.TestSmmu;

namespace Smmu.Core.Tests;

/// <summary>
/// The table walk: the software walk (<c>IovaToPhys</c>), the hardware walk's faults as a translation
/// reports them (type and level), and the guard rails of <c>PhysWrite64</c>, the fault-injection store.
/// </summary>
public class WalkerTests
{
    private const ulong OneGiB = 1UL << 30, TwoMiB = 1UL << 21, FourKiB = 1UL << 12;

    // ---- software walk --------------------------------------------------------------------------

    [Theory]
    [InlineData(FourKiB)]
    [InlineData(TwoMiB)]
    [InlineData(OneGiB)]
    public void IovaToPhysAddsTheOffsetInsideAPageOrBlock(ulong size)
    {
        using var smmu = Create();
        DomainHandle d = smmu.Alloc();
        const ulong iova = 2 * OneGiB, pa = 9 * OneGiB;
        Ok(smmu.Map(d, iova, pa, size, SmmuProt.Read));
        foreach (ulong offset in new ulong[] { 0, 0x123, FourKiB + 8, size / 2 + 0x777, size - 1 })
        {
            if (offset >= size)
                continue;
            Ok(smmu.IovaToPhys(d, iova + offset, out ulong got));
            Assert.Equal(pa + offset, got);
        }
    }

    [Fact]
    public void IovaToPhysIsNoEntryForHolesBesideMappingsAndAfterUnmap()
    {
        using var smmu = Create();
        DomainHandle d = smmu.Alloc();
        Ok(smmu.Map(d, TwoMiB + FourKiB, Pa, FourKiB, SmmuProt.Read));
        Fails(SmmuError.NoEntry, smmu.IovaToPhys(d, TwoMiB, out ulong pa));
        Assert.Equal(0UL, pa);
        Fails(SmmuError.NoEntry, smmu.IovaToPhys(d, TwoMiB + 2 * FourKiB, out _));
        Fails(SmmuError.NoEntry, smmu.IovaToPhys(d, OneGiB, out _));
        Fails(SmmuError.NoEntry, smmu.IovaToPhys(d, 1UL << 47, out _));
        Ok(smmu.IovaToPhys(d, TwoMiB + FourKiB, out _));
        Assert.Equal((long)FourKiB, smmu.Unmap(d, TwoMiB + FourKiB, FourKiB));
        Fails(SmmuError.NoEntry, smmu.IovaToPhys(d, TwoMiB + FourKiB, out _));
    }

    [Theory]
    [InlineData(48u)]
    [InlineData(39u)]
    [InlineData(32u)]
    public void IovaToPhysIsRangeFromTwoToTheIas(uint ias)
    {
        using var smmu = Create(c => c with { Ias = ias });
        DomainHandle d = smmu.Alloc();
        ulong last = (1UL << (int)ias) - FourKiB;
        Ok(smmu.Map(d, last, Pa, FourKiB, SmmuProt.Read));
        Ok(smmu.IovaToPhys(d, last + FourKiB - 1, out _));
        Fails(SmmuError.Range, smmu.IovaToPhys(d, 1UL << (int)ias, out _));
        Fails(SmmuError.Range, smmu.IovaToPhys(d, ulong.MaxValue, out _));
    }

    // ---- hardware walk: translation faults and their level --------------------------------------

    /// <summary>
    /// One page mapped; a probe that finds the first invalid descriptor at the given level. The walk
    /// stops there, and the fault record says so.
    /// </summary>
    [Theory]
    [InlineData("unmapped page beside a mapped one", 48u, FourKiB, 3)]
    [InlineData("unmapped 2 MiB slot beside the mapped one", 48u, TwoMiB, 2)]
    [InlineData("unmapped 1 GiB slot", 48u, OneGiB, 1)]
    [InlineData("unmapped 512 GiB slot", 48u, 1UL << 39, 0)]
    [InlineData("unmapped 1 GiB slot, start level 1", 39u, OneGiB, 1)]
    public void TranslationFaultReportsTheLevelWhereTheWalkStopped(string what, uint ias, ulong distance, int level)
    {
        _ = what;
        using var smmu = Create(c => c with { Ias = ias });
        DomainHandle d = smmu.AttachBase();
        const ulong mapped = 4 * OneGiB + 6 * TwoMiB + 8 * FourKiB;
        ulong iova = ias == 39 ? mapped + 3 * OneGiB : mapped;
        Ok(smmu.Map(d, iova, Pa, FourKiB, SmmuProt.Read));
        Assert.Equal(Pa, smmu.TranslateOk(iova));

        SmmuFault fault = TranslateFault(smmu, d, iova + distance, SmmuAccess.Read);

        Assert.Equal(FaultType.Translation, fault.Type);
        Assert.Equal((uint)level, fault.Level);
        Assert.Equal(iova + distance, fault.Iova);
    }

    [Fact]
    public void UnmappedSlotBesideABlockFaultsAtTheBlocksLevel()
    {
        using var smmu = Create();
        DomainHandle d = smmu.AttachBase();
        Ok(smmu.Map(d, OneGiB + 2 * TwoMiB, Pa, TwoMiB, SmmuProt.Read));
        Assert.Equal(2u, TranslateFault(smmu, d, OneGiB + 3 * TwoMiB, SmmuAccess.Read).Level);
        Ok(smmu.Map(d, 2 * OneGiB, Pa, OneGiB, SmmuProt.Read));
        Assert.Equal(1u, TranslateFault(smmu, d, 3 * OneGiB, SmmuAccess.Read).Level);
    }

    [Theory]
    [InlineData(48u)]
    [InlineData(39u)]
    [InlineData(32u)]
    public void IovaAtOrBeyondTwoToTheIasIsATranslationFaultAtLevel0(uint ias)
    {
        using var smmu = Create(c => c with { Ias = ias });
        DomainHandle d = smmu.AttachBase();
        // Map the last page below 2^ias, and the page that 2^ias would alias to if the top bits were dropped.
        Ok(smmu.Map(d, (1UL << (int)ias) - FourKiB, Pa, FourKiB, SmmuProt.Read));
        Ok(smmu.Map(d, 0, Pa, FourKiB, SmmuProt.Read));
        foreach (ulong iova in new[] { 1UL << (int)ias, (1UL << (int)ias) + (1UL << (int)ias) - FourKiB, ulong.MaxValue & ~0xFFFUL })
        {
            SmmuFault fault = TranslateFault(smmu, d, iova, SmmuAccess.Read);
            Assert.Equal(FaultType.Translation, fault.Type);
            Assert.Equal(0u, fault.Level);
        }
    }

    // ---- hardware walk: access flag and address size --------------------------------------------

    [Theory]
    [InlineData(FourKiB, 3)]
    [InlineData(TwoMiB, 2)]
    [InlineData(OneGiB, 1)]
    public void ClearingAfGivesAnAccessFlagFaultOnceTheTlbEntryIsGone(ulong size, int level)
    {
        using var smmu = Create();
        DomainHandle d = smmu.AttachBase();
        const ulong iova = 2 * OneGiB;
        Ok(smmu.Map(d, iova, 4 * OneGiB, size, ReadWrite));
        Assert.Equal(4 * OneGiB, smmu.TranslateOk(iova));   // cached
        ulong descriptorPa = Tables.DescriptorPa(smmu, Tables.Root(smmu, d), iova, level);
        ulong pte = Tables.Read(smmu, descriptorPa);

        Ok(smmu.PhysWrite64(descriptorPa, pte & ~(1UL << 10)));
        Assert.Equal(pte & ~(1UL << 10), Tables.Read(smmu, descriptorPa));
        Assert.Equal(4 * OneGiB, smmu.TranslateOk(iova));   // PhysWrite64 does no TLB maintenance
        Ok(smmu.TlbInvalidateVa(smmu.AsidOf(d), iova, FourKiB));

        SmmuFault fault = TranslateFault(smmu, d, iova + 0x40, SmmuAccess.Read);
        Assert.Equal(FaultType.AccessFlag, fault.Type);
        Assert.Equal((uint)level, fault.Level);
        // iova_to_phys reads the leaf whatever its AF, as Linux's does.
        Ok(smmu.IovaToPhys(d, iova + 0x40, out ulong pa));
        Assert.Equal(4 * OneGiB + 0x40, pa);

        Ok(smmu.PhysWrite64(descriptorPa, pte));   // AF back: translates again
        Assert.Equal(4 * OneGiB + 0x40, smmu.TranslateOk(iova + 0x40));
    }

    [Theory]
    [InlineData(FourKiB, 3)]
    [InlineData(TwoMiB, 2)]
    public void ALeafOutputBeyondTwoToTheOasIsAnAddressSizeFault(ulong size, int level)
    {
        using var smmu = Create(c => c with { Oas = 40 });
        DomainHandle d = smmu.AttachBase();
        const ulong iova = 2 * OneGiB;
        Ok(smmu.Map(d, iova, 4 * OneGiB, size, ReadWrite));
        ulong descriptorPa = Tables.DescriptorPa(smmu, Tables.Root(smmu, d), iova, level);
        ulong pte = Tables.Read(smmu, descriptorPa);
        ulong attributes = pte & ~Tables.AddressMask;

        // Just below 2^40 is a valid output: the store really moves the translation.
        ulong below = (1UL << 40) - size;
        Ok(smmu.PhysWrite64(descriptorPa, attributes | below));
        Assert.Equal(below + 8, smmu.TranslateOk(iova + 8));

        Ok(smmu.PhysWrite64(descriptorPa, attributes | 1UL << 40));
        Ok(smmu.TlbInvalidateVa(smmu.AsidOf(d), iova, size));
        SmmuFault fault = TranslateFault(smmu, d, iova + 8, SmmuAccess.Read);
        Assert.Equal(FaultType.AddressSize, fault.Type);
        Assert.Equal((uint)level, fault.Level);
    }

    // ---- PhysWrite64 / PhysRead64 guard rails ---------------------------------------------------

    [Fact]
    public void PhysWrite64RefusesTableDescriptors()
    {
        using var smmu = Create();
        DomainHandle d = smmu.AttachBase();
        ulong root = Tables.Root(smmu, d);
        Ok(smmu.Map(d, Iova, Pa, FourKiB, SmmuProt.Read));
        for (int level = 0; level < 3; level++)
        {
            ulong at = Tables.DescriptorPa(smmu, root, Iova, level);
            ulong table = Tables.Read(smmu, at);
            AssertRefused(smmu, at, SmmuError.NotPermitted, table);                      // even an identical value
            AssertRefused(smmu, at, SmmuError.NotPermitted, table ^ 0x1000);             // another table
            AssertRefused(smmu, at, SmmuError.NotPermitted, (table & ~0b11UL) | 0b01);   // a block instead
            AssertRefused(smmu, at, SmmuError.NotPermitted, 0);                          // invalidating it
        }
        Assert.Equal(Pa, smmu.TranslateOk(Iova));
    }

    [Fact]
    public void PhysWrite64RefusesInvalidDescriptorsAndFreePages()
    {
        using var smmu = Create();
        DomainHandle d = smmu.AttachBase();
        ulong root = Tables.Root(smmu, d);
        Ok(smmu.Map(d, Iova, Pa, FourKiB, SmmuProt.Read));
        ulong leafPa = Tables.DescriptorPa(smmu, root, Iova, 3);
        ulong page = Tables.Read(smmu, leafPa);

        AssertRefused(smmu, leafPa + 8, SmmuError.NotPermitted, page + FourKiB);   // the empty slot beside a page
        AssertRefused(smmu, root + 8 * 7, SmmuError.NotPermitted, 0);              // an empty root slot
        ulong freePage = smmu.Config.PtPoolBase + smmu.Config.PtPoolBytes - FourKiB;
        AssertRefused(smmu, freePage, SmmuError.NotPermitted, page);               // a page that holds no table
        Fails(SmmuError.NoEntry, smmu.IovaToPhys(d, Iova + FourKiB, out _));
    }

    [Theory]
    [InlineData(FourKiB, 3, 0b01UL)]   // page → the reserved 0b01 at level 3
    [InlineData(FourKiB, 3, 0b00UL)]   // page → invalid
    [InlineData(FourKiB, 3, 0b10UL)]   // page → invalid
    [InlineData(TwoMiB, 2, 0b11UL)]    // block → table
    [InlineData(TwoMiB, 2, 0b00UL)]    // block → invalid
    [InlineData(OneGiB, 1, 0b11UL)]    // block → table
    public void PhysWrite64RefusesChangingALeafsType(ulong size, int level, ulong newType)
    {
        using var smmu = Create();
        DomainHandle d = smmu.AttachBase();
        Ok(smmu.Map(d, OneGiB, 4 * OneGiB, size, SmmuProt.Read));
        ulong at = Tables.DescriptorPa(smmu, Tables.Root(smmu, d), OneGiB, level);
        ulong pte = Tables.Read(smmu, at);
        AssertRefused(smmu, at, SmmuError.NotPermitted, (pte & ~0b11UL) | newType);
        Assert.Equal(4 * OneGiB, smmu.TranslateOk(OneGiB));
    }

    [Fact]
    public void PhysAccessIsInvalidUnaligned()
    {
        using var smmu = Create();
        DomainHandle d = smmu.AttachBase();
        Ok(smmu.Map(d, Iova, Pa, FourKiB, SmmuProt.Read));
        ulong leafPa = Tables.DescriptorPa(smmu, Tables.Root(smmu, d), Iova, 3);
        ulong pte = Tables.Read(smmu, leafPa);
        foreach (ulong offset in new ulong[] { 1, 4, 7 })
        {
            Fails(SmmuError.Invalid, smmu.PhysRead64(leafPa + offset, out _));
            AssertRefused(smmu, leafPa + offset, SmmuError.Invalid, pte, leafPa);
        }
    }

    [Fact]
    public void PhysAccessIsRangeOutsideThePool()
    {
        using var smmu = Create(c => c with { PtPoolBytes = 16 * FourKiB });
        ulong poolBase = smmu.Config.PtPoolBase, end = poolBase + 16 * FourKiB;
        Ok(smmu.PhysRead64(poolBase, out _));
        Ok(smmu.PhysRead64(end - 8, out _));
        ulong[] below = poolBase > 0 ? [0UL, poolBase - 8] : [];   // a pool at PA 0 has nothing below it
        foreach (ulong pa in below.Concat([end, end + FourKiB, 0xFFFF_FFFF_FFFF_FFF8]))
        {
            Fails(SmmuError.Range, smmu.PhysRead64(pa, out ulong value));
            Assert.Equal(0UL, value);
            Fails(SmmuError.Range, smmu.PhysWrite64(pa, 0x403));
        }
    }

    /// <summary>Translates (expecting a fault) with the domain active and returns the context bank's record, then clears it.</summary>
    private static SmmuFault TranslateFault(SmmuInstance smmu, DomainHandle d, ulong iova, SmmuAccess access)
    {
        Ok(smmu.GetContextBank(d, out uint bank));
        Fails(SmmuError.Fault, smmu.Translate(Sid, iova, access, out ulong pa));
        Assert.Equal(0UL, pa);
        Ok(smmu.GetFault(bank, out SmmuFault fault));
        Ok(smmu.ClearFault(bank));
        return fault;
    }

    /// <summary>Asserts that a store is refused with <paramref name="expected"/> and that the descriptor it aimed at is unchanged.</summary>
    private static void AssertRefused(SmmuInstance smmu, ulong pa, int expected, ulong value, ulong? alignedPa = null)
    {
        ulong watched = alignedPa ?? pa;
        ulong before = Tables.Read(smmu, watched);
        Fails(expected, smmu.PhysWrite64(pa, value));
        Assert.Equal(before, Tables.Read(smmu, watched));
    }
}
