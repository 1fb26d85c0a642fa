using Smmu.Core.Memory;
using static Smmu.Core.Tests.TestSmmu;

namespace Smmu.Core.Tests;

/// <summary>
/// The 16 KiB and 64 KiB granules (SMMU_ATTR_GRANULE): table shape, leaf sizes and levels, descriptors
/// bit for bit, tables granule-sized and granule-aligned in the pool, rollback and accounting, and the
/// rule that a dynamic domain uses its bank's granule.
/// </summary>
public class GranuleTests
{
    private const uint K16 = 16384, K64 = 65536;

    /// <summary>Leaf level and size the mapper must pick for a range of each size: VMSAv8-64 without LPA/LPA2.</summary>
    [Theory]
    [InlineData(K16, 0x4000UL, 3)]         // a 16 KiB page
    [InlineData(K16, 0x200_0000UL, 2)]     // a 32 MiB block
    [InlineData(K64, 0x1_0000UL, 3)]       // a 64 KiB page
    [InlineData(K64, 0x2000_0000UL, 2)]    // a 512 MiB block
    public void MapUsesTheGranulesPagesAndBlocks(uint granule, ulong size, int level)
    {
        using var smmu = Create();
        DomainHandle d = smmu.Alloc();
        Ok(smmu.SetGranule(d, granule));
        Ok(smmu.AttachDevice(d, Sid));
        const ulong Iova = 0x40_0000_0000, Pa = 0x8_0000_0000;   // aligned to every block
        Ok(smmu.Map(d, Iova, Pa, size, ReadWrite | SmmuProt.Cache));
        Ok(smmu.IovaToPhys(d, Iova + size - 8, out ulong pa));
        Assert.Equal(Pa + size - 8, pa);
        // The leaf sits at the expected level, with the type of a page or block and the output aligned.
        ulong pte = Walk(smmu, d, Iova, granule, out int leafLevel);
        Assert.Equal(level, leafLevel);
        Assert.Equal(level == 3 ? 0b11UL : 0b01UL, pte & 0b11);
        Assert.Equal(Pa, pte & 0x0000_FFFF_FFFF_F000 & ~(size - 1));
        Assert.Equal(1UL, pte >> 10 & 1);   // AF
        Assert.Equal(0b11UL, pte >> 8 & 0b11);   // CACHE: inner shareable
        // One miss serves the whole leaf.
        Ok(smmu.ResetStats());
        for (ulong offset = 0; offset < size; offset += size / 64)
            Assert.Equal(Pa + offset, smmu.TranslateOk(Iova + offset));
        Assert.Equal(1UL, smmu.Stats.TlbMisses);
    }

    [Theory]
    [InlineData(K16, 48, 0, 1)]    // 34 bits over 11 per level: 4 levels, a root of 2 entries
    [InlineData(K16, 47, 1, 11)]
    [InlineData(K16, 36, 2, 11)]
    [InlineData(K16, 32, 2, 7)]
    [InlineData(K64, 48, 1, 6)]    // 32 bits over 13: 3 levels, a root of 64 entries
    [InlineData(K64, 42, 2, 13)]
    [InlineData(K64, 32, 2, 3)]
    public void TheStartLevelAndRootFollowIasAndGranule(uint granule, uint ias, int startLevel, int rootBits)
    {
        using var smmu = Create(c => c with { Ias = ias });
        DomainHandle d = smmu.Alloc();
        Ok(smmu.SetGranule(d, granule));
        Ok(smmu.AttachDevice(d, Sid));
        int shift = granule == K16 ? 14 : 16, levelBits = shift - 3;
        // The last IOVA of the input space maps, and its root index is the last of the root table.
        ulong top = (1UL << (int)ias) - granule;
        Ok(smmu.Map(d, top, 0x1_0000_0000, granule, ReadWrite));
        ulong root = Tables.Root(smmu, d);
        int rootShift = shift + levelBits * (3 - startLevel);
        ulong rootIndex = top >> rootShift;
        Assert.Equal((1UL << rootBits) - 1, rootIndex);
        Assert.NotEqual(0UL, Tables.Read(smmu, root + rootIndex * 8) & 1);
        Assert.Equal(1UL << (int)ias, top + granule);
        Ok(smmu.IovaToPhys(d, top + 8, out ulong pa));
        Assert.Equal(0x1_0000_0008UL, pa);
        Fails(SmmuError.Range, smmu.Map(d, 1UL << (int)ias, 0, granule, ReadWrite));
    }

    [Theory]
    [InlineData(K16)]
    [InlineData(K64)]
    public void TablesAreGranuleSizedAndAlignedAndComeBack(uint granule)
    {
        using var smmu = Create(c => c with { PtPoolBase = 0x4000_1000, PtPoolBytes = 64UL << 20 });   // only 4 KiB aligned
        DomainHandle d = smmu.Alloc();
        ulong inUse = smmu.Stats.PtPagesInUse;
        Ok(smmu.SetGranule(d, granule));
        ulong frames = granule / 4096;
        Assert.Equal(frames, smmu.Stats.PtPagesInUse);   // the old 4 KiB root went back, a granule-sized one came
        Assert.Equal(1UL, inUse);
        Ok(smmu.AttachDevice(d, Sid));
        ulong root = Tables.Root(smmu, d);
        Assert.Equal(0UL, root % granule);
        Ok(smmu.Map(d, 0x10_0000_0000, 0x2_0000_0000, granule, ReadWrite));
        PagePool pool = smmu.PoolForTests;
        SmmuStats stats = smmu.Stats;
        Assert.Equal((ulong)pool.PageCount, stats.PtPagesInUse + stats.PtPagesFree);
        Assert.Equal(0UL, stats.PtPagesInUse % frames);
        Assert.Equal(granule == K16 ? 4 * frames : 3 * frames, stats.PtPagesInUse);   // a table per level
        Assert.Equal((long)granule, smmu.Unmap(d, 0x10_0000_0000, granule));
        Assert.Equal(frames, smmu.Stats.PtPagesInUse);   // the emptied tables came back; the root stays
    }

    [Fact]
    public void AFailedMapOf64KTablesRollsBackExactly()
    {
        // 64 KiB blocks: a pool of 256 KiB holds the root and 3 more tables, not enough for 2 leaves in far-apart 512 MiB regions' tables.
        using var smmu = Create(c => c with { PtPoolBytes = 4 * 65536 });
        DomainHandle d = smmu.Alloc();
        Ok(smmu.SetGranule(d, K64));
        Ok(smmu.Map(d, 0x1_0000_0000, 0x1_0000_0000, K64, ReadWrite));   // root + level 2 + level 3
        SmmuStats before = smmu.Stats;
        // A range crossing into a second 512 MiB region needs two more tables: ENOMEM, nothing changed.
        Fails(SmmuError.NoMemory, smmu.Map(d, 0x1_1FFF_0000, 0x2_0000_0000, 2 * K64 + 0x2000_0000, ReadWrite));
        Assert.Equal(before.PtPagesInUse, smmu.Stats.PtPagesInUse);
        Fails(SmmuError.NoEntry, smmu.IovaToPhys(d, 0x1_1FFF_0000, out _));
        Ok(smmu.IovaToPhys(d, 0x1_0000_0000, out ulong pa));
        Assert.Equal(0x1_0000_0000UL, pa);
    }

    [Theory]
    [InlineData(K16)]
    [InlineData(K64)]
    public void MisalignmentToTheGranuleIsInvalid(uint granule)
    {
        using var smmu = Create();
        DomainHandle d = smmu.Alloc();
        Ok(smmu.SetGranule(d, granule));
        Fails(SmmuError.Invalid, smmu.Map(d, 0x1000, 0x1_0000_0000, granule, ReadWrite));
        Fails(SmmuError.Invalid, smmu.Map(d, 0x10_0000_0000, 0x1_0000_1000, granule, ReadWrite));
        Fails(SmmuError.Invalid, smmu.Map(d, 0x10_0000_0000, 0x1_0000_0000, 0x1000, ReadWrite));
        Ok(smmu.Map(d, 0x10_0000_0000, 0x1_0000_0000, granule, ReadWrite));
        Fails(SmmuError.Invalid, (int)smmu.Unmap(d, 0x10_0000_0000, 0x1000));
    }

    [Fact]
    public void ADynamicDomainMustUseItsBanksGranule()
    {
        using var smmu = Create();
        DomainHandle baseDomain = smmu.Alloc();
        Ok(smmu.SetGranule(baseDomain, K16));
        Ok(smmu.AttachDevice(baseDomain, Sid));
        DomainHandle other = smmu.Alloc();
        Ok(smmu.SetDynamic(other, true));
        Ok(smmu.SetContextBank(other, 0));
        Fails(SmmuError.Invalid, smmu.AttachDevice(other, Sid));   // 4 KiB on a 16 KiB bank
        Ok(smmu.SetGranule(other, K16));
        Ok(smmu.AttachDevice(other, Sid));
        Ok(smmu.GetContextBankState(0, out ContextBankState bank));
        Assert.Equal(K16, bank.Granule);
    }

    [Fact]
    public void GranuleIsSetBeforeTheFirstMapAndAttachOnly()
    {
        using var smmu = Create();
        DomainHandle d = smmu.Alloc();
        foreach (uint bad in new uint[] { 0, 8192, 32768, 4095, 1u << 20 })
            Fails(SmmuError.Invalid, smmu.SetGranule(d, bad));
        Ok(smmu.SetGranule(d, K64));
        Ok(smmu.GetAttribute(d, DomainAttribute.Granule, new byte[4]));
        Ok(smmu.Map(d, 0x10_0000_0000, 0x1_0000_0000, K64, ReadWrite));
        Fails(SmmuError.Busy, smmu.SetGranule(d, K16));
        Assert.Equal((long)K64, smmu.Unmap(d, 0x10_0000_0000, K64));
        Fails(SmmuError.Busy, smmu.SetGranule(d, K16));   // empty again, but the root was fixed by the first map
        DomainHandle fresh = smmu.Alloc();
        Ok(smmu.AttachDevice(fresh, Sid));
        Fails(SmmuError.Busy, smmu.SetGranule(fresh, K16));
        Ok(smmu.DetachDevice(fresh, Sid));
        Fails(SmmuError.Busy, smmu.SetGranule(fresh, K16));   // and by the first attach
        Fails(SmmuError.Invalid, smmu.SetGranule(fresh, 8192));   // a malformed value is Invalid whatever the state
    }

    /// <summary>Walks the domain's tables by hand from its root: the leaf descriptor and its level.</summary>
    private static ulong Walk(SmmuInstance smmu, DomainHandle d, ulong iova, uint granule, out int level)
    {
        int shift = granule == K16 ? 14 : granule == K64 ? 16 : 12, levelBits = shift - 3;
        int ias = (int)smmu.Config.Ias;
        int levels = (ias - shift + levelBits - 1) / levelBits;
        level = 4 - levels;
        ulong table = Tables.Root(smmu, d);
        ulong granuleMask = ~((1UL << shift) - 1);
        while (true)
        {
            int levelShift = shift + levelBits * (3 - level);
            ulong index = (iova >> levelShift) & ((1UL << levelBits) - 1);
            ulong pte = Tables.Read(smmu, table + index * 8);
            if (level < 3 && (pte & 0b11) == 0b11)
            {
                table = pte & 0x0000_FFFF_FFFF_F000 & granuleMask;
                level++;
                continue;
            }
            return pte;
        }
    }
}
