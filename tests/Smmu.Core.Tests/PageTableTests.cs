using Smmu.Core;
using static Smmu.Core.Tests.TestSmmu;

namespace Smmu.Core.Tests;

/// <summary>
/// map / unmap on the translation tables (SPEC §2): leaf sizes, the start level, the error codes with
/// "nothing changed" checked on the whole pool, block splitting, and the pool accounting.
/// </summary>
public class PageTableTests
{
    private const ulong OneGiB = 1UL << 30, TwoMiB = 1UL << 21, FourKiB = 1UL << 12;
    private const SmmuProt Plain = SmmuProt.Read;

    // ---- leaf selection -------------------------------------------------------------------------

    [Fact]
    public void MapUsesA1GiBBlockThenA2MiBBlockThenA4KiBPageWhereAlignmentAndSizeAllow()
    {
        using var smmu = Create();
        DomainHandle d = smmu.AttachBase();
        ulong root = Tables.Root(smmu, d);
        const ulong pa = 4 * OneGiB;
        Ok(smmu.Map(d, OneGiB, pa, OneGiB + TwoMiB + FourKiB, ReadWrite));

        AssertLeafAt(smmu, root, OneGiB, 1, pa);
        AssertLeafAt(smmu, root, 2 * OneGiB, 2, pa + OneGiB);
        AssertLeafAt(smmu, root, 2 * OneGiB + TwoMiB, 3, pa + OneGiB + TwoMiB);
        // root, level 1, one level 2 (for the second GiB) and one level 3 table: nothing else.
        Assert.Equal(4, Tables.PagesInUse(smmu));
        Fails(SmmuError.NoEntry, smmu.IovaToPhys(d, 2 * OneGiB + TwoMiB + FourKiB, out _));
    }

    [Theory]
    [InlineData(TwoMiB + FourKiB, 4 * OneGiB)]   // IOVA only 4 KiB aligned
    [InlineData(TwoMiB, 4 * OneGiB + FourKiB)]   // PA only 4 KiB aligned
    public void A2MiBRangeThatIsOnly4KiBAlignedMapsAs512Pages(ulong iova, ulong pa)
    {
        using var smmu = Create();
        DomainHandle d = smmu.AttachBase();
        ulong root = Tables.Root(smmu, d);
        Ok(smmu.Map(d, iova, pa, TwoMiB, ReadWrite));

        for (ulong offset = 0; offset < TwoMiB; offset += FourKiB)
            AssertLeafAt(smmu, root, iova + offset, 3, pa + offset);
        // root, L1, L2 and one L3 per 2 MiB slot the range touches.
        int l3Tables = (iova & (TwoMiB - 1)) == 0 ? 1 : 2;
        Assert.Equal(3 + l3Tables, Tables.PagesInUse(smmu));
    }

    [Fact]
    public void ASizeThatIsNotAMultipleOfTheBlockSizeEndsInPages()
    {
        using var smmu = Create();
        DomainHandle d = smmu.AttachBase();
        ulong root = Tables.Root(smmu, d);
        Ok(smmu.Map(d, TwoMiB, TwoMiB, TwoMiB + 3 * FourKiB, Plain));
        AssertLeafAt(smmu, root, TwoMiB, 2, TwoMiB);
        for (ulong i = 0; i < 3; i++)
            AssertLeafAt(smmu, root, 2 * TwoMiB + i * FourKiB, 3, 2 * TwoMiB + i * FourKiB);
    }

    /// <summary>
    /// The root's level follows ias, and so do its index bits: the highest 1 GiB block below 2^ias
    /// lands in the root's last used slot, directly (start level 1) or through a level 1 table.
    /// </summary>
    [Theory]
    [InlineData(48u, 0, 511)]
    [InlineData(40u, 0, 1)]
    [InlineData(39u, 1, 511)]
    [InlineData(32u, 1, 3)]
    public void StartLevelAndRootIndexFollowIas(uint ias, int startLevel, int rootIndex)
    {
        using var smmu = Create(c => c with { Ias = ias });
        DomainHandle d = smmu.AttachBase();
        ulong root = Tables.Root(smmu, d);
        ulong iova = (1UL << (int)ias) - OneGiB;
        Ok(smmu.Map(d, iova, 4 * OneGiB, OneGiB, Plain));

        ulong rootPte = Tables.Read(smmu, root + (ulong)rootIndex * 8);
        if (startLevel == 1)
        {
            Assert.Equal(4 * OneGiB | 0b01, rootPte & (Tables.AddressMask | 0b11));   // the block sits in the root itself
        }
        else
        {
            Assert.Equal(0b11UL, rootPte & 0b11);   // a table ...
            ulong l1 = rootPte & Tables.AddressMask;
            Assert.Equal(4 * OneGiB | 0b01, Tables.Read(smmu, l1 + 511 * 8) & (Tables.AddressMask | 0b11));   // ... holding the block
        }
        // Nothing else in the root.
        for (int i = 0; i < 512; i++)
        {
            if (i != rootIndex)
                Assert.Equal(0UL, Tables.Read(smmu, root + (ulong)i * 8));
        }
        Fails(SmmuError.Range, smmu.Map(d, 1UL << (int)ias, 0, FourKiB, Plain));
    }

    // ---- failed maps change nothing -------------------------------------------------------------

    /// <summary>Existing mapping (iova, size) and an attempted one that overlaps it in some shape.</summary>
    [Theory]
    [InlineData("same page", TwoMiB, FourKiB, TwoMiB, FourKiB)]
    [InlineData("page inside a 2 MiB block", TwoMiB, TwoMiB, TwoMiB + 5 * FourKiB, FourKiB)]
    [InlineData("page inside a 1 GiB block", OneGiB, OneGiB, OneGiB + 3 * TwoMiB + FourKiB, FourKiB)]
    [InlineData("2 MiB block inside a 1 GiB block", OneGiB, OneGiB, OneGiB + 3 * TwoMiB, TwoMiB)]
    [InlineData("2 MiB block over existing pages", TwoMiB + 7 * FourKiB, 2 * FourKiB, TwoMiB, TwoMiB)]
    [InlineData("1 GiB block over an existing 2 MiB block", OneGiB + 5 * TwoMiB, TwoMiB, OneGiB, OneGiB)]
    [InlineData("1 GiB block over existing pages", OneGiB + 9 * FourKiB, FourKiB, OneGiB, OneGiB)]
    [InlineData("range whose last page overlaps", TwoMiB, FourKiB, TwoMiB - 3 * FourKiB, 4 * FourKiB)]
    [InlineData("range whose first page overlaps", TwoMiB, FourKiB, TwoMiB, 4 * FourKiB)]
    [InlineData("range that needs new tables before it meets the overlap", 2 * OneGiB + 4 * FourKiB, FourKiB,
                OneGiB - 2 * FourKiB, OneGiB + 8 * FourKiB)]
    public void OverlapIsExistsAndChangesNothing(string shape, ulong existingIova, ulong existingSize, ulong iova, ulong size)
    {
        _ = shape;
        using var smmu = Create(c => c with { PtPoolBytes = 64 * FourKiB });
        DomainHandle d = smmu.AttachBase();
        const ulong existingPa = 8 * OneGiB;
        Ok(smmu.Map(d, existingIova, existingPa, existingSize, SmmuProt.Read | SmmuProt.NoExec));
        var before = Tables.Snapshot(smmu);

        Fails(SmmuError.Exists, smmu.Map(d, iova, 16 * OneGiB + (iova & (OneGiB - 1)), size, ReadWrite));

        Tables.AssertUnchanged(before, smmu);
        for (ulong offset = 0; offset < existingSize; offset += Math.Max(FourKiB, existingSize / 64))
        {
            Ok(smmu.IovaToPhys(d, existingIova + offset, out ulong pa));
            Assert.Equal(existingPa + offset, pa);
        }
    }

    [Theory]
    [InlineData("misaligned iova", TwoMiB + 0x800, 0UL, FourKiB, SmmuProt.Read)]
    [InlineData("misaligned pa", TwoMiB, 0x10UL, FourKiB, SmmuProt.Read)]
    [InlineData("misaligned size", TwoMiB, 0UL, FourKiB + 8, SmmuProt.Read)]
    [InlineData("size 0", TwoMiB, 0UL, 0UL, SmmuProt.Read)]
    [InlineData("no READ or WRITE", TwoMiB, 0UL, FourKiB, SmmuProt.Cache | SmmuProt.NoExec)]
    [InlineData("no prot at all", TwoMiB, 0UL, FourKiB, SmmuProt.None)]
    [InlineData("unknown prot bit 7", TwoMiB, 0UL, FourKiB, SmmuProt.Read | (SmmuProt)0x80)]
    [InlineData("unknown prot bit 31", TwoMiB, 0UL, FourKiB, SmmuProt.Read | (SmmuProt)0x8000_0000)]
    public void MalformedMapIsInvalidAndChangesNothing(string what, ulong iova, ulong pa, ulong size, SmmuProt prot)
    {
        _ = what;
        AssertMapFailsWithoutChange(SmmuError.Invalid, c => c, iova, pa, size, prot);
    }

    [Theory]
    [InlineData("iova at 2^ias", 1UL << 48, 0UL, FourKiB, 48u)]
    [InlineData("iova + size beyond 2^ias", (1UL << 48) - FourKiB, 0UL, 2 * FourKiB, 48u)]
    [InlineData("iova + size beyond 2^ias (ias 39)", (1UL << 39) - TwoMiB, 0UL, 2 * TwoMiB, 39u)]
    [InlineData("pa + size beyond 2^oas", TwoMiB, (1UL << 48) - FourKiB, 2 * FourKiB, 48u)]
    [InlineData("iova + size wraps around 2^64", FourKiB, 0UL, 0xFFFF_FFFF_FFFF_F000, 48u)]
    [InlineData("iova near 2^64", 0xFFFF_FFFF_FFFF_E000, 0UL, 0x1000UL, 48u)]
    [InlineData("pa + size wraps around 2^64", TwoMiB, 0xFFFF_FFFF_FFFF_F000, 2 * FourKiB, 48u)]
    public void OutOfRangeMapIsRangeAndChangesNothing(string what, ulong iova, ulong pa, ulong size, uint ias)
    {
        _ = what;
        AssertMapFailsWithoutChange(SmmuError.Range, c => c with { Ias = ias }, iova, pa, size, Plain);
    }

    [Fact]
    public void PaBeyondASmallerOasIsRange()
    {
        AssertMapFailsWithoutChange(SmmuError.Range, c => c with { Oas = 40 }, TwoMiB, (1UL << 40) - FourKiB, 2 * FourKiB, Plain);
        AssertMapFailsWithoutChange(SmmuError.Range, c => c with { Oas = 40 }, TwoMiB, 1UL << 40, FourKiB, Plain);
        // The last page below 2^oas is fine.
        using var smmu = Create(c => c with { Oas = 40 });
        DomainHandle d = smmu.AttachBase();
        Ok(smmu.Map(d, TwoMiB, (1UL << 40) - FourKiB, FourKiB, Plain));
    }

    /// <summary>
    /// A pool one page short: the first page of the range would go into an existing table, the rest
    /// needs two new ones. The call fails and no word of the pool changes.
    /// </summary>
    [Fact]
    public void MapThatNeedsMoreTablesThanThePoolHasIsNoMemoryAndRollsEverythingBack()
    {
        // d: root + L1 + L2 + L3 for the existing page; other: a root; one page spare.
        // The map needs an L2 and an L3 for GiB 1.
        using var smmu = Create(c => c with { PtPoolBytes = 6 * FourKiB });
        DomainHandle d = smmu.AttachBase();
        DomainHandle other = smmu.Alloc();
        Ok(smmu.Map(d, OneGiB - 2 * FourKiB, Pa, FourKiB, Plain));
        Assert.Equal(1, Tables.PagesFree(smmu));
        var before = Tables.Snapshot(smmu);

        Fails(SmmuError.NoMemory, smmu.Map(d, OneGiB - FourKiB, Pa, 2 * FourKiB, ReadWrite));

        Tables.AssertUnchanged(before, smmu);
        Fails(SmmuError.NoEntry, smmu.IovaToPhys(d, OneGiB - FourKiB, out _));
        // Not a sticky state: once a page comes back, the same map succeeds.
        Ok(smmu.DomainFree(other));
        Ok(smmu.Map(d, OneGiB - FourKiB, Pa, 2 * FourKiB, ReadWrite));
        Assert.Equal(0, Tables.PagesFree(smmu));
    }

    [Fact]
    public void MapThatNeedsTablesUnderSeveralRootSlotsIsNoMemoryWhenThePoolIsShortAndChangesNothing()
    {
        // Crossing a 512 GiB boundary needs two L1, two L2 and two L3 tables; the pool has five spare.
        using var smmu = Create(c => c with { PtPoolBytes = 6 * FourKiB });
        DomainHandle d = smmu.AttachBase();
        var before = Tables.Snapshot(smmu);
        Fails(SmmuError.NoMemory, smmu.Map(d, (1UL << 39) - FourKiB, Pa, 2 * FourKiB, Plain));
        Tables.AssertUnchanged(before, smmu);
        Assert.Equal(1, Tables.PagesInUse(smmu));
    }

    // ---- the one-page paths (a single granule: one descent each way) ----------------------------

    [Fact]
    public void OnePageMapThatRunsOutOfTablesGivesBackTheOnesItCreatedInOrder()
    {
        // root + L1 + L2 + L3 for the existing page, the other domain's root, one page spare: a page in
        // another GiB needs an L2 and an L3. The L2 it takes goes back, and the pool hands the same
        // frames out in the same order afterwards.
        using var smmu = Create(c => c with { PtPoolBytes = 6 * FourKiB });
        DomainHandle d = smmu.AttachBase();
        DomainHandle other = smmu.Alloc();
        Ok(smmu.Map(d, OneGiB - FourKiB, Pa, FourKiB, Plain));
        Assert.Equal(1, Tables.PagesFree(smmu));
        var before = Tables.Snapshot(smmu);

        Fails(SmmuError.NoMemory, smmu.Map(d, OneGiB, Pa, FourKiB, Plain));

        Tables.AssertUnchanged(before, smmu);
        Fails(SmmuError.NoEntry, smmu.IovaToPhys(d, OneGiB, out _));
        Ok(smmu.DomainFree(other));
        Ok(smmu.Map(d, OneGiB, Pa, FourKiB, Plain));
        AssertTranslates(smmu, d, OneGiB, Pa);
        Assert.Equal(0, Tables.PagesFree(smmu));
    }

    [Fact]
    public void OnePageMapUnderABlockIsExistsAndChangesNothing()
    {
        using var smmu = Create();
        DomainHandle d = smmu.AttachBase();
        Ok(smmu.Map(d, TwoMiB, Pa, TwoMiB, Plain));
        var before = Tables.Snapshot(smmu);
        Fails(SmmuError.Exists, smmu.Map(d, TwoMiB + FourKiB, Pa, FourKiB, Plain));
        Fails(SmmuError.Exists, smmu.Map(d, 0, Pa, OneGiB, Plain));   // a block over the table that holds it
        Ok(smmu.Map(d, OneGiB + TwoMiB, Pa, FourKiB, Plain));
        Fails(SmmuError.Exists, smmu.Map(d, OneGiB + TwoMiB, Pa + FourKiB, FourKiB, Plain));   // the same page again
        Assert.Equal(1L << 12, smmu.Unmap(d, OneGiB + TwoMiB, FourKiB));
        Tables.AssertUnchanged(before, smmu);
    }

    [Theory]
    [InlineData(1)]   // the L3 alone empties: its L2 holds another table
    [InlineData(2)]   // L3 and L2 empty: the L1 holds another GiB's table
    [InlineData(3)]   // L3, L2 and L1 empty: only the root stays
    public void OnePageUnmapFreesEachTableItEmptiesBottomUpAndNoOther(int emptied)
    {
        using var smmu = Create();
        DomainHandle d = smmu.AttachBase();
        const ulong page = (1UL << 39) + 5 * OneGiB + 7 * TwoMiB + 3 * FourKiB;   // root slot 1
        ulong neighbour = emptied switch
        {
            1 => page + TwoMiB,                // same L2, another L3
            2 => page + OneGiB,                // same L1, another L2
            _ => page - (1UL << 39),           // another root slot: its own L1, L2, L3
        };
        Ok(smmu.Map(d, neighbour, Pa, FourKiB, Plain));
        int inUse = Tables.PagesInUse(smmu);
        Ok(smmu.Map(d, page, Pa + FourKiB, FourKiB, Plain));
        Assert.Equal(inUse + emptied, Tables.PagesInUse(smmu));

        Assert.Equal((long)FourKiB, smmu.Unmap(d, page, FourKiB));

        Assert.Equal(inUse, Tables.PagesInUse(smmu));
        Fails(SmmuError.NoEntry, smmu.IovaToPhys(d, page, out _));
        AssertTranslates(smmu, d, neighbour, Pa);
        // The frames went back in the order the general path frees them (deepest first, held back LIFO): mapping the
        // page again takes the same frames and writes the same words.
        var after = Tables.Snapshot(smmu);
        Ok(smmu.Map(d, page, Pa + FourKiB, FourKiB, Plain));
        Assert.Equal((long)FourKiB, smmu.Unmap(d, page, FourKiB));
        Tables.AssertUnchanged(after, smmu);
    }

    // ---- unmap ----------------------------------------------------------------------------------

    [Fact]
    public void UnmapReturnsTheBytesItRemovedAndNotTheHoles()
    {
        using var smmu = Create();
        DomainHandle d = smmu.AttachBase();
        Assert.Equal(0L, smmu.Unmap(d, TwoMiB, 64 * FourKiB));   // nothing mapped at all
        Ok(smmu.Map(d, TwoMiB, Pa, FourKiB, Plain));
        Ok(smmu.Map(d, TwoMiB + 2 * FourKiB, Pa, 3 * FourKiB, Plain));
        Ok(smmu.Map(d, 2 * TwoMiB, 0, TwoMiB, Plain));

        Assert.Equal((long)(4 * FourKiB + TwoMiB), smmu.Unmap(d, TwoMiB, 4 * TwoMiB));
        Assert.Equal(0L, smmu.Unmap(d, TwoMiB, 4 * TwoMiB));   // a second time: all holes
        Assert.Equal(1, Tables.PagesInUse(smmu));
    }

    [Theory]
    [InlineData("misaligned iova", TwoMiB + 8, FourKiB, SmmuError.Invalid)]
    [InlineData("misaligned size", TwoMiB, 100UL, SmmuError.Invalid)]
    [InlineData("size 0", TwoMiB, 0UL, SmmuError.Invalid)]
    [InlineData("beyond 2^ias", (1UL << 48) - FourKiB, 2 * FourKiB, SmmuError.Range)]
    [InlineData("wraps around 2^64", TwoMiB, 0xFFFF_FFFF_FFE0_0000, SmmuError.Range)]
    public void MalformedUnmapFailsAndChangesNothing(string what, ulong iova, ulong size, int expected)
    {
        _ = what;
        using var smmu = Create(c => c with { PtPoolBytes = 64 * FourKiB });
        DomainHandle d = smmu.AttachBase();
        Ok(smmu.Map(d, TwoMiB, Pa, TwoMiB, Plain));
        var before = Tables.Snapshot(smmu);
        Assert.Equal((long)expected, smmu.Unmap(d, iova, size));
        Tables.AssertUnchanged(before, smmu);
    }

    [Fact]
    public void UnmappingPartOfA2MiBBlockSplitsItIntoPagesWithTheBlocksAttributesForOneTablePage()
    {
        using var smmu = Create();
        DomainHandle d = smmu.AttachBase();
        ulong root = Tables.Root(smmu, d);
        const ulong iova = 3 * TwoMiB, pa = 7 * TwoMiB;
        const SmmuProt prot = SmmuProt.Read | SmmuProt.Cache | SmmuProt.NoExec | SmmuProt.Priv;
        Ok(smmu.Map(d, iova, pa, TwoMiB, prot));
        ulong blockAttributes = Tables.Attributes(Tables.Descriptor(smmu, root, iova, 2));
        int inUse = Tables.PagesInUse(smmu);

        Assert.Equal((long)FourKiB, smmu.Unmap(d, iova + 5 * FourKiB, FourKiB));

        Assert.Equal(inUse + 1, Tables.PagesInUse(smmu));
        Assert.Equal(0b11UL, Tables.Descriptor(smmu, root, iova, 2) & 0b11);   // now a table
        for (ulong i = 0; i < 512; i++)
        {
            ulong pte = Tables.Descriptor(smmu, root, iova + i * FourKiB, 3);
            if (i == 5)
            {
                Assert.Equal(0UL, pte);
                Fails(SmmuError.NoEntry, smmu.IovaToPhys(d, iova + i * FourKiB, out _));
                continue;
            }
            Assert.Equal(pa + i * FourKiB | 0b11, pte & (Tables.AddressMask | 0b11));
            Assert.Equal(blockAttributes, Tables.Attributes(pte));
            Ok(smmu.IovaToPhys(d, iova + i * FourKiB + 0x10, out ulong got));
            Assert.Equal(pa + i * FourKiB + 0x10, got);
        }
    }

    [Fact]
    public void UnmappingAPageOfA1GiBBlockSplitsTwoLevelsForTwoTablePages()
    {
        using var smmu = Create();
        DomainHandle d = smmu.AttachBase();
        ulong root = Tables.Root(smmu, d);
        const ulong iova = OneGiB, pa = 5 * OneGiB;
        Ok(smmu.Map(d, iova, pa, OneGiB, ReadWrite | SmmuProt.NoExec | SmmuProt.Mmio));
        ulong attributes = Tables.Attributes(Tables.Descriptor(smmu, root, iova, 1));
        int inUse = Tables.PagesInUse(smmu);
        const ulong hole = iova + 3 * TwoMiB + 7 * FourKiB;

        Assert.Equal((long)FourKiB, smmu.Unmap(d, hole, FourKiB));

        Assert.Equal(inUse + 2, Tables.PagesInUse(smmu));
        for (ulong i = 0; i < 512; i++)
        {
            ulong pte = Tables.Descriptor(smmu, root, iova + i * TwoMiB, 2);
            if (i == 3)
            {
                Assert.Equal(0b11UL, pte & 0b11);   // split further
                continue;
            }
            Assert.Equal(pa + i * TwoMiB | 0b01, pte & (Tables.AddressMask | 0b11));
            Assert.Equal(attributes, Tables.Attributes(pte));
        }
        for (ulong i = 0; i < 512; i++)
        {
            ulong at = iova + 3 * TwoMiB + i * FourKiB;
            ulong pte = Tables.Descriptor(smmu, root, at, 3);
            if (at == hole)
            {
                Assert.Equal(0UL, pte);
                continue;
            }
            Assert.Equal(pa + 3 * TwoMiB + i * FourKiB | 0b11, pte & (Tables.AddressMask | 0b11));
            Assert.Equal(attributes, Tables.Attributes(pte));
        }
    }

    [Fact]
    public void UnmappingAn2MiBAlignedPartOfA1GiBBlockSplitsOneLevelOnly()
    {
        using var smmu = Create();
        DomainHandle d = smmu.AttachBase();
        Ok(smmu.Map(d, OneGiB, 5 * OneGiB, OneGiB, Plain));
        int inUse = Tables.PagesInUse(smmu);
        Assert.Equal((long)(2 * TwoMiB), smmu.Unmap(d, OneGiB + 10 * TwoMiB, 2 * TwoMiB));
        Assert.Equal(inUse + 1, Tables.PagesInUse(smmu));
        Fails(SmmuError.NoEntry, smmu.IovaToPhys(d, OneGiB + 11 * TwoMiB, out _));
        Ok(smmu.IovaToPhys(d, OneGiB + 12 * TwoMiB, out ulong pa));
        Assert.Equal(5 * OneGiB + 12 * TwoMiB, pa);
    }

    [Fact]
    public void UnmapAcrossBlocksPagesAndHolesSplitsBothEndsAndFreesTheEmptiedTable()
    {
        using var smmu = Create();
        DomainHandle d = smmu.AttachBase();
        const ulong x = 8 * TwoMiB, half = TwoMiB / 2;
        Ok(smmu.Map(d, x, 0x1000_0000, TwoMiB, Plain));                             // block
        // x + 2 MiB .. x + 4 MiB: hole
        Ok(smmu.Map(d, x + 2 * TwoMiB, 0x2000_0000, 4 * FourKiB, Plain));          // pages in their own L3
        Ok(smmu.Map(d, x + 3 * TwoMiB, 0x3000_0000, TwoMiB, Plain));                // block
        Assert.Equal(4, Tables.PagesInUse(smmu));   // root, L1, L2, L3

        long unmapped = smmu.Unmap(d, x + half, 3 * TwoMiB);   // second half of the first block .. first half of the last

        Assert.Equal((long)(half + 4 * FourKiB + half), unmapped);
        Assert.Equal(4 - 1 + 2, Tables.PagesInUse(smmu));   // the pages' L3 freed; one L3 per split block
        AssertTranslates(smmu, d, x, 0x1000_0000);
        AssertTranslates(smmu, d, x + half - FourKiB, 0x1000_0000 + half - FourKiB);
        Fails(SmmuError.NoEntry, smmu.IovaToPhys(d, x + half, out _));
        Fails(SmmuError.NoEntry, smmu.IovaToPhys(d, x + 2 * TwoMiB, out _));
        Fails(SmmuError.NoEntry, smmu.IovaToPhys(d, x + 3 * TwoMiB + half - FourKiB, out _));
        AssertTranslates(smmu, d, x + 3 * TwoMiB + half, 0x3000_0000 + half);
        AssertTranslates(smmu, d, x + 4 * TwoMiB - FourKiB, 0x3000_0000 + TwoMiB - FourKiB);
    }

    [Fact]
    public void SplitWithAnEmptyPoolIsNoMemoryAndChangesNothing()
    {
        // root, L1, L2 holding the block: no page left for the split.
        using var smmu = Create(c => c with { PtPoolBytes = 3 * FourKiB });
        DomainHandle d = smmu.AttachBase();
        Ok(smmu.Map(d, TwoMiB, Pa, TwoMiB, Plain));
        Assert.Equal(0, Tables.PagesFree(smmu));
        var before = Tables.Snapshot(smmu);

        Assert.Equal((long)SmmuError.NoMemory, smmu.Unmap(d, TwoMiB + FourKiB, FourKiB));

        Tables.AssertUnchanged(before, smmu);
        AssertTranslates(smmu, d, TwoMiB + FourKiB, Pa + FourKiB);
    }

    [Fact]
    public void SplitThatFailsRollsBackTheWholeUnmapIncludingPagesItWouldHaveRemovedFirst()
    {
        // root, L1, L2, one L3 (pages at x and x + 4K), a block at x + 2 MiB: the pool is full.
        using var smmu = Create(c => c with { PtPoolBytes = 4 * FourKiB });
        DomainHandle d = smmu.AttachBase();
        const ulong x = 4 * TwoMiB;
        Ok(smmu.Map(d, x, Pa, 2 * FourKiB, Plain));
        Ok(smmu.Map(d, x + TwoMiB, Pa + TwoMiB, TwoMiB, Plain));
        Assert.Equal(0, Tables.PagesFree(smmu));
        var before = Tables.Snapshot(smmu);

        // Removes the page at x + 4K (its L3 table stays: x is still mapped), then needs a split.
        Assert.Equal((long)SmmuError.NoMemory, smmu.Unmap(d, x + FourKiB, TwoMiB));

        Tables.AssertUnchanged(before, smmu);
        AssertTranslates(smmu, d, x + FourKiB, Pa + FourKiB);
    }

    // ---- pool accounting ------------------------------------------------------------------------

    [Fact]
    public void EmptiedTablesGoBackToThePoolLeavingOneRootPerDomainAndDomainFreeReturnsTheRoot()
    {
        using var smmu = Create();
        DomainHandle a = smmu.Alloc(), b = smmu.Alloc();
        Assert.Equal(2, Tables.PagesInUse(smmu));
        Ok(smmu.Map(a, TwoMiB, Pa, 3 * TwoMiB + 5 * FourKiB, Plain));
        Ok(smmu.Map(a, 3 * OneGiB, Pa, OneGiB, Plain));
        Ok(smmu.Map(b, 1UL << 40, Pa, 17 * FourKiB, Plain));
        Ok(smmu.Map(b, (1UL << 47) + OneGiB, 0, 2 * OneGiB + TwoMiB, Plain));
        Assert.Equal((long)FourKiB, smmu.Unmap(a, 3 * OneGiB + TwoMiB, FourKiB));   // a split, too
        Assert.True(Tables.PagesInUse(smmu) > 2);

        Assert.Equal((long)(3 * TwoMiB + 5 * FourKiB + OneGiB - FourKiB), smmu.Unmap(a, 0, 1UL << 47));
        Assert.Equal((long)(17 * FourKiB + 2 * OneGiB + TwoMiB), smmu.Unmap(b, 0, 1UL << 48));
        Assert.Equal(2, Tables.PagesInUse(smmu));
        Ok(smmu.DomainFree(a));
        Assert.Equal(1, Tables.PagesInUse(smmu));
        Ok(smmu.DomainFree(b));
        Assert.Equal(0, Tables.PagesInUse(smmu));
    }

    [Fact]
    public void DomainFreeReturnsEveryTableOfADomainThatStillHasMappings()
    {
        using var smmu = Create();
        DomainHandle keep = smmu.Alloc();
        Ok(smmu.Map(keep, TwoMiB, Pa, FourKiB, Plain));
        int baseline = Tables.PagesInUse(smmu);
        DomainHandle d = smmu.Alloc();
        Ok(smmu.Map(d, TwoMiB, Pa, 3 * TwoMiB + 5 * FourKiB, Plain));
        Ok(smmu.Map(d, 1UL << 46, Pa, 9 * FourKiB, Plain));
        Assert.Equal((long)FourKiB, smmu.Unmap(d, 2 * TwoMiB, FourKiB));

        Ok(smmu.DomainFree(d));

        Assert.Equal(baseline, Tables.PagesInUse(smmu));
        AssertTranslates(smmu, keep, TwoMiB, Pa);   // the other domain's tables are untouched
    }

    /// <summary>pages in use + pages free = the pool, after successes and failures of every kind.</summary>
    [Fact]
    public void PagesInUsePlusPagesFreeIsAlwaysThePoolSize()
    {
        using var smmu = Create(c => c with { PtPoolBytes = 12 * FourKiB });
        var steps = new List<(string What, Func<long> Step)>();
        DomainHandle a = default, b = default;
        steps.Add(("alloc a", () => smmu.DomainAlloc(out a)));
        steps.Add(("alloc b", () => smmu.DomainAlloc(out b)));
        steps.Add(("map pages", () => smmu.Map(a, TwoMiB, Pa, 3 * FourKiB, Plain)));
        steps.Add(("map block", () => smmu.Map(a, OneGiB, 0, OneGiB, Plain)));
        steps.Add(("map exists", () => smmu.Map(a, TwoMiB, Pa, FourKiB, Plain)));
        steps.Add(("map invalid", () => smmu.Map(a, TwoMiB, Pa, 0, Plain)));
        steps.Add(("map range", () => smmu.Map(a, 1UL << 48, Pa, FourKiB, Plain)));
        steps.Add(("split 1G", () => smmu.Unmap(a, OneGiB + FourKiB, FourKiB)));
        steps.Add(("map far", () => smmu.Map(b, 1UL << 45, 0, FourKiB, Plain)));
        steps.Add(("map needing 3 of 2 free pages", () => smmu.Map(b, 1UL << 46, 0, FourKiB, Plain)));
        steps.Add(("split 2M #1", () => smmu.Unmap(a, OneGiB + TwoMiB + FourKiB, FourKiB)));
        steps.Add(("split 2M #2", () => smmu.Unmap(a, OneGiB + 2 * TwoMiB + FourKiB, FourKiB)));
        steps.Add(("split without pages", () => smmu.Unmap(a, OneGiB + 3 * TwoMiB + FourKiB, FourKiB)));
        steps.Add(("unmap pages", () => smmu.Unmap(a, 0, OneGiB)));
        steps.Add(("unmap all a", () => smmu.Unmap(a, 0, 1UL << 48)));
        steps.Add(("unmap all b", () => smmu.Unmap(b, 0, 1UL << 48)));
        steps.Add(("free b", () => smmu.DomainFree(b)));
        steps.Add(("free a", () => smmu.DomainFree(a)));
        var codes = new List<long>();
        foreach (var (what, step) in steps)
        {
            codes.Add(step());
            SmmuStats stats = smmu.Stats;
            Assert.True(stats.PtPagesInUse + stats.PtPagesFree == 12,
                        $"after '{what}': {stats.PtPagesInUse} in use + {stats.PtPagesFree} free != 12");
        }
        // The run went through the failures it meant to.
        Assert.Contains((long)SmmuError.Exists, codes);
        Assert.Contains((long)SmmuError.Invalid, codes);
        Assert.Contains((long)SmmuError.Range, codes);
        Assert.Contains((long)SmmuError.NoMemory, codes);
        Assert.Equal(0, Tables.PagesInUse(smmu));
    }

    [Fact]
    public void TheRootTableNeverMovesWhileTheDomainLives()
    {
        using var smmu = Create();
        DomainHandle baseDomain = smmu.AttachBase();
        DomainHandle dyn = smmu.AttachDynamic(baseDomain);
        ulong root = Tables.Root(smmu, dyn);
        void Same(string after) => Assert.True(Tables.Root(smmu, dyn) == root, $"TTBR0 moved after {after}");

        Ok(smmu.Map(dyn, OneGiB, Pa, OneGiB + TwoMiB + FourKiB, Plain));
        Same("map");
        Assert.Equal((long)FourKiB, smmu.Unmap(dyn, OneGiB + FourKiB, FourKiB));
        Same("split");
        Assert.True(smmu.Unmap(dyn, 0, 1UL << 48) > 0);
        Same("unmapping everything");
        Ok(smmu.SwitchDomain(dyn));
        Ok(smmu.DetachDevice(dyn, Sid));
        Ok(smmu.AttachDevice(dyn, Sid));
        Same("detach and re-attach");
        // The root is still the domain's table: a new map writes into it.
        Ok(smmu.Map(dyn, 0, Pa, FourKiB, Plain));
        Assert.Equal(0b11UL, Tables.Read(smmu, root) & 0b11);
        Ok(smmu.SwitchDomain(dyn));
        Ok(smmu.GetContextBank(baseDomain, out uint bank));
        Ok(smmu.GetContextBankState(bank, out ContextBankState cb));
        Assert.Equal(root, cb.Ttbr0 & Tables.PaMask);
    }

    private static void AssertMapFailsWithoutChange(int expected, Func<SmmuConfig, SmmuConfig> config,
                                                    ulong iova, ulong pa, ulong size, SmmuProt prot)
    {
        using var smmu = Create(c => config(c) with { PtPoolBytes = 64 * FourKiB });
        DomainHandle d = smmu.AttachBase();
        Ok(smmu.Map(d, TwoMiB, Pa, TwoMiB + FourKiB, ReadWrite));   // something to disturb
        var before = Tables.Snapshot(smmu);
        Fails(expected, smmu.Map(d, iova, pa, size, prot));
        Tables.AssertUnchanged(before, smmu);
    }

    private static void AssertLeafAt(SmmuInstance smmu, ulong root, ulong iova, int level, ulong pa)
    {
        ulong pte = Tables.Descriptor(smmu, root, iova, level);
        ulong type = level == 3 ? 0b11UL : 0b01UL;
        Assert.True((pte & 0b11) == type && (pte & Tables.AddressMask) == pa,
                    $"iova {iova:X}: expected a level {level} leaf to {pa:X}, found {pte:X16}");
    }

    private static void AssertTranslates(SmmuInstance smmu, DomainHandle d, ulong iova, ulong expected)
    {
        Ok(smmu.IovaToPhys(d, iova, out ulong pa));
        Assert.Equal(expected, pa);
    }
}

/// <summary>
/// Reads translation tables the way a test on real hardware would: through <c>PhysRead64</c>, from the
/// root TTBR0 names, with the VMSAv8-64 geometry written out here rather than taken from the library.
/// Shared by the page-table, PTE, walker and property tests.
/// </summary>
internal static class Tables
{
    /// <summary>[47:12]: output address or next-level table.</summary>
    public const ulong AddressMask = 0x0000_FFFF_FFFF_F000;
    /// <summary>TTBR0 [47:0]: the table address (ASID in [63:48]).</summary>
    public const ulong PaMask = 0x0000_FFFF_FFFF_FFFF;
    private const ulong PageSize = 4096;

    public static ulong LevelSize(int level) => 1UL << (12 + 9 * (3 - level));

    /// <summary>48..40 bits start at level 0, 39..32 at level 1.</summary>
    public static int StartLevel(SmmuInstance smmu) => smmu.Config.Ias >= 40 ? 0 : 1;

    /// <summary>An attached domain's root table, from its TTBR0 image.</summary>
    public static ulong Root(SmmuInstance smmu, DomainHandle d)
    {
        Ok(smmu.GetTtbr0(d, out ulong ttbr0));
        return ttbr0 & PaMask;
    }

    public static ulong Read(SmmuInstance smmu, ulong pa)
    {
        int rc = smmu.PhysRead64(pa, out ulong value);
        if (rc != SmmuError.Ok)   // not Assert.True(..., message): this runs millions of times in the property test
            Assert.Fail($"PhysRead64({pa:X}) failed: {rc} ({SmmuError.Describe(rc)})");
        return value;
    }

    /// <summary>The PA of the descriptor for <paramref name="iova"/> in the level-<paramref name="level"/> table at <paramref name="table"/>.</summary>
    public static ulong Slot(ulong table, ulong iova, int level) => table + (iova >> (12 + 9 * (3 - level)) & 511) * 8;

    /// <summary>
    /// The PA of the level-<paramref name="level"/> descriptor for <paramref name="iova"/>, following table
    /// descriptors from the root; fails the test if one on the way is not a table.
    /// </summary>
    public static ulong DescriptorPa(SmmuInstance smmu, ulong root, ulong iova, int level)
    {
        ulong table = root;
        for (int l = StartLevel(smmu); l < level; l++)
        {
            ulong pte = Read(smmu, Slot(table, iova, l));
            Assert.True((pte & 0b11) == 0b11, $"iova {iova:X}: level {l} descriptor {pte:X16} is not a table");
            table = pte & AddressMask;
        }
        return Slot(table, iova, level);
    }

    public static ulong Descriptor(SmmuInstance smmu, ulong root, ulong iova, int level) =>
        Read(smmu, DescriptorPa(smmu, root, iova, level));

    /// <summary>A leaf's attribute bits: everything but the output address and the type.</summary>
    public static ulong Attributes(ulong pte) => pte & ~(AddressMask | 0b11);

    public static int PagesInUse(SmmuInstance smmu) => checked((int)smmu.Stats.PtPagesInUse);

    public static int PagesFree(SmmuInstance smmu) => checked((int)smmu.Stats.PtPagesFree);

    /// <summary>Counts the tables reachable from <paramref name="root"/> (root included), by walking them.</summary>
    public static int CountTables(SmmuInstance smmu, ulong root)
    {
        int Count(ulong table, int level)
        {
            int tables = 1;
            if (level == 3)
                return tables;
            for (ulong i = 0; i < 512; i++)
            {
                ulong pte = Read(smmu, table + i * 8);
                if ((pte & 0b11) == 0b11)
                    tables += Count(pte & AddressMask, level + 1);
            }
            return tables;
        }
        return Count(root, StartLevel(smmu));
    }

    /// <summary>Page counts and every word of the pool (use small pools: 512 reads per page).</summary>
    public sealed record PoolSnapshot(ulong InUse, ulong Free, ulong[] Words);

    public static PoolSnapshot Snapshot(SmmuInstance smmu)
    {
        ulong poolBase = smmu.Config.PtPoolBase;
        var words = new ulong[smmu.Config.PtPoolBytes / 8];
        for (int i = 0; i < words.Length; i++)
            words[i] = Read(smmu, poolBase + (ulong)i * 8);
        SmmuStats stats = smmu.Stats;
        return new PoolSnapshot(stats.PtPagesInUse, stats.PtPagesFree, words);
    }

    /// <summary>Asserts that the page counts and every descriptor in the pool are as in <paramref name="before"/>.</summary>
    public static void AssertUnchanged(PoolSnapshot before, SmmuInstance smmu)
    {
        PoolSnapshot after = Snapshot(smmu);
        Assert.Equal(before.InUse, after.InUse);
        Assert.Equal(before.Free, after.Free);
        for (int i = 0; i < after.Words.Length; i++)
        {
            if (before.Words[i] != after.Words[i])
            {
                ulong pa = smmu.Config.PtPoolBase + (ulong)i * 8;
                Assert.Fail($"pool word at PA {pa:X} (page {(ulong)i * 8 / PageSize}, slot {i % 512}) changed: "
                            + $"{before.Words[i]:X16} -> {after.Words[i]:X16}");
            }
        }
    }
}
