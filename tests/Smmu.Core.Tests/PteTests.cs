using Smmu.Core.Translation;
using Smmu.Core;
using Smmu.Core.PageTables;
using static Smmu.Core.Tests.TestSmmu;

namespace Smmu.Core.Tests;

/// <summary>
/// Descriptor encoding, bit for bit (SPEC §2): descriptors are read back from simulated memory after
/// <c>Map</c> and every field is checked against literal bit positions from the VMSAv8-64 long-descriptor
/// format and io-pgtable-arm's stage-1 <c>arm_lpae_prot_to_pte</c>, never against the library's own constants.
/// </summary>
public class PteTests
{
    private const ulong OneGiB = 1UL << 30, TwoMiB = 1UL << 21, FourKiB = 1UL << 12;

    /// <summary>Bits no stage-1 leaf written by map may set: [63:55], [52] Contiguous, [51:48], [5] NS.</summary>
    private const ulong UnusedLeafBits = 0xFF80_0000_0000_0000 | 1UL << 52 | 0xFUL << 48 | 1UL << 5;

    [Fact]
    public void TableDescriptorsAtLevels0To2AreType0b11AndHoldOnlyTheNextTablesPa()
    {
        using var smmu = Create();
        DomainHandle d = smmu.AttachBase();
        ulong root = Tables.Root(smmu, d);
        Ok(smmu.Map(d, Iova, Pa, FourKiB, SmmuProt.Read));

        ulong table = root;
        for (int level = 0; level < 3; level++)
        {
            ulong pte = Tables.Read(smmu, Tables.Slot(table, Iova, level));
            ulong next = pte & Tables.AddressMask;
            // io-pgtable-arm: paddr_to_iopte(next) | ARM_LPAE_PTE_TYPE_TABLE, nothing else for stage 1.
            Assert.Equal(next | 0b11, pte);
            Assert.True(next >= smmu.Config.PtPoolBase && next < smmu.Config.PtPoolBase + smmu.Config.PtPoolBytes,
                        $"level {level} table at {next:X} lies outside the pool");
            Assert.NotEqual(table, next);
            table = next;
        }
        Assert.Equal(Pa, Tables.Read(smmu, Tables.Slot(table, Iova, 3)) & Tables.AddressMask);
    }

    [Theory]
    [InlineData(3, 0b11)]   // 4 KiB page
    [InlineData(2, 0b01)]   // 2 MiB block
    [InlineData(1, 0b01)]   // 1 GiB block
    public void LeafTypeBitsAre0b11ForAPageAnd0b01ForABlock(int level, ulong expectedType)
    {
        using var smmu = Create();
        DomainHandle d = smmu.AttachBase();
        ulong size = Tables.LevelSize(level);
        Ok(smmu.Map(d, OneGiB, 4 * OneGiB, size, ReadWrite));

        ulong pte = Tables.Descriptor(smmu, Tables.Root(smmu, d), OneGiB, level);
        Assert.Equal(expectedType, pte & 0b11);
        Assert.Equal(4 * OneGiB, pte & Tables.AddressMask);
    }

    [Fact]
    public void OutputAddressOccupiesBits47To12()
    {
        using var smmu = Create();
        DomainHandle d = smmu.AttachBase();
        // A PA with every bit of [47:12] set: nothing may be lost or shifted.
        const ulong pa = 0x0000_FFFF_FFFF_F000;
        Ok(smmu.Map(d, Iova, pa, FourKiB, SmmuProt.Read));
        ulong pte = Tables.Descriptor(smmu, Tables.Root(smmu, d), Iova, 3);
        Assert.Equal(pa, pte & Tables.AddressMask);
        Assert.Equal(0UL, pte & 0xFFFF_0000_0000_0000 & ~(3UL << 53));
    }

    /// <summary>One named row per rule, so a broken rule shows up by name.</summary>
    [Theory]
    //                                              SH    AP2 AP1 XN  AttrIndx
    [InlineData(SmmuProt.Read,                     0b10,  1,  1,  0,  0)]
    [InlineData(SmmuProt.Read | SmmuProt.Write,    0b10,  0,  1,  0,  0)]
    [InlineData(SmmuProt.Write,                    0b10,  0,  1,  0,  0)]   // write-only is read/write: no write-only AP
    [InlineData(SmmuProt.Read | SmmuProt.Priv,     0b10,  1,  0,  0,  0)]
    [InlineData(SmmuProt.Read | SmmuProt.NoExec,   0b10,  1,  1,  1,  0)]
    [InlineData(SmmuProt.Read | SmmuProt.Cache,    0b11,  1,  1,  0,  1)]
    [InlineData(SmmuProt.Read | SmmuProt.Mmio,     0b10,  1,  1,  0,  2)]
    [InlineData(SmmuProt.Read | SmmuProt.Mmio | SmmuProt.Cache, 0b11, 1, 1, 0, 2)]   // MMIO wins the AttrIndx; SH follows CACHE as in Linux
    public void EachProtBitSetsItsField(SmmuProt prot, int sh, int ap2, int ap1, int xn, int attrIndx)
    {
        using var smmu = Create();
        DomainHandle d = smmu.AttachBase();
        Ok(smmu.Map(d, Iova, Pa, FourKiB, prot));
        ulong pte = Tables.Descriptor(smmu, Tables.Root(smmu, d), Iova, 3);

        Assert.Equal((ulong)sh, pte >> 8 & 0b11);
        Assert.Equal((ulong)ap2, pte >> 7 & 1);
        Assert.Equal((ulong)ap1, pte >> 6 & 1);
        Assert.Equal((ulong)xn, pte >> 53 & 1);
        Assert.Equal((ulong)xn, pte >> 54 & 1);
        Assert.Equal((ulong)attrIndx, pte >> 2 & 0b111);
    }

    /// <summary>
    /// Every prot combination that map accepts, at every leaf level: the whole descriptor is what
    /// io-pgtable-arm would write, with AF and nG always set and no stray bit.
    /// </summary>
    [Fact]
    public void EveryAcceptedProtCombinationEncodesExactlyAtEveryLeafLevel()
    {
        using var smmu = Create();
        DomainHandle d = smmu.AttachBase();
        ulong root = Tables.Root(smmu, d);
        int checkedCount = 0;
        for (uint bits = 0; bits <= (uint)SmmuProt.All; bits++)
        {
            var prot = (SmmuProt)bits;
            if ((prot & (SmmuProt.Read | SmmuProt.Write)) == 0)
                continue;
            for (int level = 1; level <= 3; level++)
            {
                ulong size = Tables.LevelSize(level);
                // Level 1 blocks at 1 GiB steps from 1 GiB; 2 MiB blocks and pages in GiB 0, in separate 2 MiB slots.
                ulong iova = level == 1 ? OneGiB * (1 + bits) : level == 2 ? TwoMiB * (2 * bits + 2) : TwoMiB * (2 * bits + 3);
                ulong pa = OneGiB * (64 + bits);
                Ok(smmu.Map(d, iova, pa, size, prot));
                ulong pte = Tables.Descriptor(smmu, root, iova, level);
                AssertLeaf(pte, level, pa, prot);
                checkedCount++;
            }
        }
        Assert.Equal(96 * 3, checkedCount);   // 48 prot combinations, with and without GLOBAL, at 3 leaf levels
    }

    /// <summary>
    /// The VMSAv8-64 stage-1 permission table, written out by hand: AP[2:1] gives data access, UXN/PXN
    /// instruction fetch, and memory writable unprivileged is never privileged-executable. Rights are
    /// written "privileged/unprivileged" as rwx strings.
    /// </summary>
    [Theory]
    //          AP[2:1] UXN PXN  rights
    [InlineData(0b00, 0, 0, "rwx/--x")]   // EL0 execute-only, as Linux's PAGE_EXECONLY
    [InlineData(0b00, 0, 1, "rw-/--x")]
    [InlineData(0b00, 1, 0, "rwx/---")]
    [InlineData(0b00, 1, 1, "rw-/---")]
    [InlineData(0b01, 0, 0, "rw-/rwx")]   // writable unprivileged ⇒ not privileged-executable
    [InlineData(0b01, 0, 1, "rw-/rwx")]
    [InlineData(0b01, 1, 0, "rw-/rw-")]
    [InlineData(0b01, 1, 1, "rw-/rw-")]
    [InlineData(0b10, 0, 0, "r-x/--x")]
    [InlineData(0b10, 0, 1, "r--/--x")]
    [InlineData(0b10, 1, 0, "r-x/---")]
    [InlineData(0b10, 1, 1, "r--/---")]
    [InlineData(0b11, 0, 0, "r-x/r-x")]
    [InlineData(0b11, 0, 1, "r--/r-x")]
    [InlineData(0b11, 1, 0, "r-x/r--")]
    [InlineData(0b11, 1, 1, "r--/r--")]
    public void RightsDecodeApAndExecuteNeverAsVmsaV8(int ap, int uxn, int pxn, string expected)
    {
        // A realistic page: type 0b11, AF, nG, outer shareable, some PA; only AP and XN vary.
        ulong pte = 0x1234_5000UL | 0b11 | 1UL << 10 | 1UL << 11 | 0b10UL << 8
                    | (ulong)ap << 6 | (ulong)uxn << 54 | (ulong)pxn << 53;
        Assert.Equal(expected, Format(Pte.Rights(pte)));
    }

    [Fact]
    public void RightsIgnoreEveryBitButApAndExecuteNever()
    {
        const ulong apAndXn = 0b11UL << 6 | 0b11UL << 53;
        for (int ap = 0; ap < 4; ap++)
        {
            for (int xn = 0; xn < 4; xn++)
            {
                ulong pte = (ulong)ap << 6 | (ulong)xn << 53;
                Assert.Equal(Pte.Rights(pte | 0b11), Pte.Rights(pte | (~apAndXn)));
            }
        }
    }

    private static void AssertLeaf(ulong pte, int level, ulong pa, SmmuProt prot)
    {
        string where = $"level {level}, prot {prot}, pte {pte:X16}";
        bool cache = (prot & SmmuProt.Cache) != 0, mmio = (prot & SmmuProt.Mmio) != 0;
        Assert.True((pte & 0b11) == (level == 3 ? 0b11UL : 0b01UL), $"type bits: {where}");
        Assert.True((pte & Tables.AddressMask) == pa, $"output address [47:12]: {where}");
        Assert.True((pte >> 10 & 1) == 1, $"AF [10] always set: {where}");
        Assert.True((pte >> 11 & 1) == ((prot & SmmuProt.Global) != 0 ? 0UL : 1UL), $"nG [11] set unless GLOBAL: {where}");
        Assert.True((pte >> 8 & 0b11) == (cache ? 0b11UL : 0b10UL), $"SH [9:8] inner with CACHE, else outer: {where}");
        Assert.True((pte >> 7 & 1) == ((prot & SmmuProt.Write) == 0 ? 1UL : 0UL), $"AP[2] [7] read-only without WRITE: {where}");
        Assert.True((pte >> 6 & 1) == ((prot & SmmuProt.Priv) == 0 ? 1UL : 0UL), $"AP[1] [6] unprivileged unless PRIV: {where}");
        ulong xn = (prot & SmmuProt.NoExec) != 0 ? 1UL : 0UL;
        Assert.True((pte >> 53 & 1) == xn && (pte >> 54 & 1) == xn, $"PXN [53] and UXN [54] with NOEXEC: {where}");
        Assert.True((pte >> 2 & 0b111) == (mmio ? 2UL : cache ? 1UL : 0UL), $"AttrIndx [4:2] 0 plain, 1 CACHE, 2 MMIO: {where}");
        Assert.True((pte & UnusedLeafBits) == 0, $"no stray bits: {where}");
    }

    private static string Format(AccessRights rights)
    {
        static char Bit(AccessRights r, AccessRights bit, char c) => (r & bit) != 0 ? c : '-';
        return string.Concat(
            Bit(rights, AccessRights.PrivRead, 'r'), Bit(rights, AccessRights.PrivWrite, 'w'), Bit(rights, AccessRights.PrivExec, 'x'), "/",
            Bit(rights, AccessRights.UserRead, 'r'), Bit(rights, AccessRights.UserWrite, 'w'), Bit(rights, AccessRights.UserExec, 'x'));
    }
}
