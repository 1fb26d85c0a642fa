using System.Runtime.CompilerServices;
using Smmu.Core.Memory;
using Smmu.Core.PageTables;

namespace Smmu.Core.Translation;

/// <summary>
/// The hardware table walk (VMSAv8-64, 4/16/64 KiB granules, stage 1, stage 2 and nested): reads
/// descriptors from simulated physical memory by address and reports the leaf or the fault in the
/// architecture's order: translation, address size, access flag. Permissions are checked by the caller
/// against the leaf's rights, so TLB hits and walks share one check.
/// <para>Stage 1 picks its table from the input's top bits, as the architecture does with two TTBRs
/// (T0SZ = T1SZ = 64 − ias): bits [63:ias] all 0 → TTBR0, all 1 → TTBR1, anything else → a level-0
/// translation fault; so is a half whose walks are disabled (EPD0/EPD1).</para>
/// <para>Nested: every stage-1 table descriptor address is an IPA, translated by stage 2 before the
/// descriptor is read (a fault there is a stage-2 fault with S1PTW), and so is the stage-1 output; the
/// leaf has the smaller of the two sizes and both stages' rights. A 4-level stage 1 under a 4-level
/// stage 2 reads up to 24 descriptors.</para>
/// </summary>
internal static class Walker
{
    /// <summary>
    /// Walks <paramref name="input"/> (a VA, or an IPA for a stage-2-only regime). On a fault, <paramref name="info"/>
    /// says where; for an address-size or access-flag fault of a one-stage walk, <paramref name="leaf"/> still
    /// describes the leaf that faulted (for iova_to_phys).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FaultType Walk(in WalkContext context, ulong input, out WalkLeaf leaf, out WalkInfo info)
    {
        info = default;
        if (context.Regime == TranslationRegime.Stage1)
        {
            info.Stage = 1;
            if (!SelectStage1Root(context, input, out ulong root))
            {
                leaf = default;
                return FaultType.Translation;   // a level-0 translation fault: in neither half, or the half is disabled
            }
            return context.Stage1.PageShift == Geometry.Granule4K
                ? WalkTree4K(context.Pool, context.Stage1, root, input, out leaf, out info.Level, out info.DescriptorReads)
                : WalkTree(context.Pool, context.Stage1, root, input, out leaf, out info.Level, ref info.DescriptorReads);
        }
        return WalkSlowRegime(context, input, out leaf, out info);
    }

    /// <summary>
    /// <see cref="WalkTree"/> for a stage-1 tree of the 4 KiB granule, the common case, with its geometry as
    /// constants (9 bits a level, the last three levels' shifts 30, 21, 12): the walk is a chain of dependent
    /// descriptor loads, and every instruction between one load and the next is on that chain. The same
    /// rules, in the same order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static FaultType WalkTree4K(PagePool pool, in TableFormat format, ulong root, ulong input, out WalkLeaf leaf, out int level,
                                        out int reads)
    {
        const int LevelBits = 9;
        const ulong TableMask = Pte.AddressMask & ~Geometry.FrameOffsetMask;
        leaf = default;
        ulong outputLimit = format.OutputLimit;
        int start = format.StartLevel, current = start;
        ulong indexMask = (1UL << format.RootIndexBits) - 1;
        FaultType fault = FaultType.None;
        for (ulong table = root; ; current++)
        {
            int shift = Geometry.Granule4K + LevelBits * (Geometry.LastLevel - current);
            ulong descriptorPa = table + ((input >> shift) & indexMask) * Geometry.DescriptorSize;
            indexMask = (1UL << LevelBits) - 1;
            if (!pool.Contains(descriptorPa))
            {
                fault = FaultType.External;
                reads = current - start;
                level = current;
                return fault;
            }
            ulong pte = pool.Word(descriptorPa);
            if (current < Geometry.LastLevel && (pte & Pte.TypeMask) == Pte.TypeTable)
            {
                table = pte & TableMask;
                if (table < outputLimit)
                    continue;
                fault = FaultType.AddressSize;
                break;
            }
            if (!Pte.IsLeaf(pte, current, firstBlockLevel: 1))
            {
                fault = FaultType.Translation;   // invalid, or reserved: a block at level 0, 0b01 at level 3
                break;
            }
            leaf = new WalkLeaf(Pte.OutputAddress(pte, shift), current, shift, Pte.Rights(pte), Pte.IsGlobal(pte));
            if ((pte & Pte.AddressMask) >= outputLimit)
                fault = FaultType.AddressSize;
            else if ((pte & Pte.AccessFlag) == 0)
                fault = FaultType.AccessFlag;
            break;
        }
        reads = current - start + 1;
        level = current;
        return fault;
    }

    /// <summary>
    /// The first half of a TLB fill's walk of a stage-1 bank with the 4 KiB granule (the batch's miss path):
    /// the table levels, usually cached, down to the descriptor that ends the walk — the pool offset of the
    /// level-3 descriptor, not yet read, or of the first one above that is not a table. False for a fault
    /// on the way (neither TTBR, a disabled half, a table outside the pool or the output size); the caller
    /// then walks again with <see cref="Walk"/>, which reports it. <see cref="IsUsableLeaf4K"/> is the second half.
    /// Split in two so the miss path can descend the next input's tables and start its leaf's line on its
    /// way (<see cref="PagePool.Prefetch"/>) before it finishes this one: consecutive walks' uncached loads
    /// then overlap. Same rules, same order as <see cref="WalkTree4K"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool DescendStage1Granule4K(in WalkContext context, ulong input, out ulong offset, out int level)
    {
        const ulong TableMask = Pte.AddressMask & ~Geometry.FrameOffsetMask;
        offset = 0;
        level = context.Stage1.StartLevel;
        if (!SelectStage1Root(context, input, out ulong table))
            return false;
        PagePool pool = context.Pool;
        ulong poolBase = context.PoolBase, lastWord = context.PoolLastWord;
        ulong outputLimit = context.Stage1.OutputLimit;
        int current = level;
        int shift = context.Stage1StartShift4K;
        ulong indexMask = context.Stage1RootIndexMask;
        while (true)
        {
            ulong at = table - poolBase + ((input >> shift) & indexMask) * Geometry.DescriptorSize;
            if (at > lastWord)
                return false;   // an external abort
            if (current == Geometry.LastLevel)
            {
                offset = at;
                level = current;
                return true;
            }
            ulong pte = pool.WordAtOffset(at);
            if ((pte & Pte.TypeMask) != Pte.TypeTable)
            {
                offset = at;
                level = current;
                return true;
            }
            table = pte & TableMask;
            if (table >= outputLimit)
                return false;   // an address size fault
            current++;
            shift -= 9;
            indexMask = (1UL << 9) - 1;
        }
    }

    /// <summary>
    /// The second half of <see cref="DescendStage1Granule4K"/>: whether the descriptor it led to, <paramref name="pte"/>
    /// at <paramref name="level"/>, is a leaf the TLB may cache — false if it is none (invalid, reserved, beyond the
    /// output size, or without the access flag: faults the caller's slow path reports). The caller takes the leaf's
    /// fields from the descriptor itself (<see cref="LeafShift4K"/>, <see cref="Pte.OutputAddress"/>,
    /// <see cref="Pte.Rights"/>, <see cref="Pte.IsGlobal"/>) and hands them to the fill as values, so they stay in
    /// registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsUsableLeaf4K(in WalkContext context, ulong pte, int level) =>
        Pte.IsLeaf(pte, level, firstBlockLevel: 1) && (pte & Pte.AddressMask) < context.Stage1.OutputLimit && (pte & Pte.AccessFlag) != 0;

    /// <summary>log2 of the bytes a 4 KiB-granule leaf at <paramref name="level"/> covers (12, 21, 30).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int LeafShift4K(int level) => Geometry.Granule4K + 9 * (Geometry.LastLevel - level);

    /// <summary>The stage-1 root for <paramref name="va"/>: TTBR0 for the lower half, TTBR1 for the upper; false for neither or a disabled half.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool SelectStage1Root(in WalkContext context, ulong va, out ulong root)
    {
        int ias = context.Stage1.InputBits;
        ulong top = va >> ias;
        if (top == 0)
        {
            root = context.Ttbr0;
            return !context.Epd0;
        }
        root = context.Ttbr1;
        return top == ulong.MaxValue >> ias && !context.Epd1;
    }

    /// <summary>Stage 2 alone, or nested: off the stage-1 fast path.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static FaultType WalkSlowRegime(in WalkContext context, ulong input, out WalkLeaf leaf, out WalkInfo info)
    {
        info = default;
        if (context.Regime == TranslationRegime.Stage2)
        {
            info.Stage = 2;
            info.Ipa = input;
            if (input >= context.Stage2.InputLimit)
            {
                leaf = default;
                return FaultType.Translation;   // an IPA beyond the stage-2 input size: level 0
            }
            return WalkTree(context.Pool, context.Stage2, context.Vttbr, input, out leaf, out info.Level, ref info.DescriptorReads);
        }
        return WalkNested(context, input, out leaf, out info);
    }

    /// <summary>
    /// One table tree of <paramref name="format"/> from <paramref name="root"/>: the loop every one-stage
    /// walk runs. <paramref name="level"/> is where it stopped.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static FaultType WalkTree(PagePool pool, in TableFormat format, ulong root, ulong input, out WalkLeaf leaf, out int level,
                                      ref int reads)
    {
        leaf = default;
        ulong outputLimit = format.OutputLimit;
        int pageShift = format.PageShift, levelBits = format.LevelBits, firstBlockLevel = format.FirstBlockLevel;
        // A local level, not the out parameter: it is on the loop's critical path.
        int current = format.StartLevel;
        ulong indexMask = (1UL << format.RootIndexBits) - 1;
        FaultType fault = FaultType.None;
        for (ulong table = root; ; current++)
        {
            int shift = pageShift + levelBits * (Geometry.LastLevel - current);
            ulong descriptorPa = table + ((input >> shift) & indexMask) * Geometry.DescriptorSize;
            indexMask = (1UL << levelBits) - 1;
            if (!pool.Contains(descriptorPa))
            {
                fault = FaultType.External;
                break;
            }
            ulong pte = pool.Word(descriptorPa);
            reads++;
            if (Pte.IsTable(pte, current))
            {
                table = Pte.TableAddress(pte, pageShift);
                if (table < outputLimit)
                    continue;
                fault = FaultType.AddressSize;
                break;
            }
            if (!Pte.IsLeaf(pte, current, firstBlockLevel))
            {
                fault = FaultType.Translation;   // invalid, or reserved: a block where the granule allows none, 0b01 at level 3
                break;
            }
            // The leaf is reported with the two faults that follow, for software walks (iova_to_phys).
            leaf = format.Stage == 1
                ? new WalkLeaf(Pte.OutputAddress(pte, shift), current, shift, Pte.Rights(pte), Pte.IsGlobal(pte))
                : new WalkLeaf(Pte.OutputAddress(pte, shift), current, shift, Stage2Pte.Rights(pte), false);
            if ((pte & Pte.AddressMask) >= outputLimit)
                fault = FaultType.AddressSize;
            else if ((pte & Pte.AccessFlag) == 0)
                fault = FaultType.AccessFlag;
            break;
        }
        level = current;
        return fault;
    }

    /// <summary>The nested walk: stage 1 with every table fetch and the output translated by stage 2.</summary>
    private static FaultType WalkNested(in WalkContext context, ulong iova, out WalkLeaf leaf, out WalkInfo info)
    {
        info = default;
        info.Stage = 1;
        leaf = default;
        if (!SelectStage1Root(context, iova, out ulong table))
            return FaultType.Translation;
        PagePool pool = context.Pool;
        ref readonly TableFormat s1 = ref context.Stage1;
        int current = s1.StartLevel;
        ulong indexMask = (1UL << s1.RootIndexBits) - 1;
        for (; ; current++)
        {
            int shift = s1.LevelShift(current);
            ulong descriptorIpa = table + ((iova >> shift) & indexMask) * Geometry.DescriptorSize;
            indexMask = (1UL << s1.LevelBits) - 1;
            // The table fetch is itself translated (ARM ARM: a stage-1 walk's accesses are subject to stage 2).
            FaultType s2Fault = TranslateStage2(context, descriptorIpa, AccessRights.PrivRead, out ulong descriptorPa, out WalkLeaf _, out _, ref info);
            if (s2Fault != FaultType.None)
            {
                info.S1ptw = true;
                return s2Fault;
            }
            if (!pool.Contains(descriptorPa))
            {
                info.Level = current;
                return FaultType.External;
            }
            ulong pte = pool.Word(descriptorPa);
            info.DescriptorReads++;
            if (Pte.IsTable(pte, current))
            {
                table = Pte.TableAddress(pte, s1.PageShift);
                if (table < s1.OutputLimit)
                    continue;
                info.Level = current;
                return FaultType.AddressSize;
            }
            info.Level = current;
            if (!Pte.IsLeaf(pte, current, s1.FirstBlockLevel))
                return FaultType.Translation;
            if ((pte & Pte.AddressMask) >= s1.OutputLimit)
                return FaultType.AddressSize;
            if ((pte & Pte.AccessFlag) == 0)
                return FaultType.AccessFlag;
            var s1Leaf = new WalkLeaf(Pte.OutputAddress(pte, shift), current, shift, Pte.Rights(pte), Pte.IsGlobal(pte));
            ulong ipa = s1Leaf.OutputBase | (iova & ((1UL << shift) - 1));
            int s1Level = current;
            info.Stage1Rights = s1Leaf.Rights;
            info.Stage1Level = s1Level;
            FaultType outFault = TranslateStage2(context, ipa, AccessRights.None, out ulong pa, out WalkLeaf s2Leaf, out int s2Level, ref info);
            if (outFault != FaultType.None)
                return outFault;
            int combined = Math.Min(s1Leaf.Shift, s2Leaf.Shift);
            info.Stage = 1;
            info.Level = s1Level;
            info.Ipa = ipa;
            info.Stage2Level = s2Level;
            leaf = new WalkLeaf(pa & ~((1UL << combined) - 1), s1Level, combined, s1Leaf.Rights & s2Leaf.Rights, s1Leaf.Global);
            return FaultType.None;
        }
    }

    /// <summary>
    /// A stage-2 translation inside a nested walk: the IPA's leaf, its PA, and — for a table fetch — the
    /// rights the fetch needs (<paramref name="need"/>; the output's rights are checked by the caller with
    /// the combined leaf). On a fault, <paramref name="info"/> becomes a stage-2 fault at the IPA.
    /// </summary>
    private static FaultType TranslateStage2(in WalkContext context, ulong ipa, AccessRights need, out ulong pa, out WalkLeaf leaf,
                                             out int level, ref WalkInfo info)
    {
        pa = 0;
        FaultType fault;
        level = 0;
        if (ipa >= context.Stage2.InputLimit)
        {
            leaf = default;
            fault = FaultType.Translation;
        }
        else
        {
            fault = WalkTree(context.Pool, context.Stage2, context.Vttbr, ipa, out leaf, out level, ref info.DescriptorReads);
            if (fault == FaultType.None && (need & ~leaf.Rights) != 0)
                fault = FaultType.Permission;
        }
        if (fault != FaultType.None)
        {
            info.Stage = 2;
            info.Level = level;
            info.Ipa = ipa;
            return fault;
        }
        pa = leaf.OutputBase | (ipa & ((1UL << leaf.Shift) - 1));
        return FaultType.None;
    }
}
