using System.Runtime.CompilerServices;
using Smmu.Core.Memory;
using Smmu.Core.PageTables;

namespace Smmu.Core.Translation;

/// <summary>What a context bank translates: stage 1 alone, stage 2 alone (the input is an IPA), or both nested.</summary>
internal enum TranslationRegime : byte
{
    /// <summary>IOVA → PA through the stage-1 tables.</summary>
    Stage1,
    /// <summary>IPA → PA through a stage-2 domain's tables (a device passed through to a VM).</summary>
    Stage2,
    /// <summary>IOVA → IPA through stage 1, every stage-1 table address and the output translated by stage 2.</summary>
    Nested,
}

/// <summary>
/// Everything a walk needs besides the input address: the simulated memory and a context bank's
/// translation registers — the regime, stage 1's table format with TTBR0 and TTBR1 (and whether each
/// half is disabled, TCR.EPD0/EPD1), stage 2's format and VTTBR. The only place, with
/// <see cref="TableFormat"/>, that knows the address sizes, start levels and granules of a translation.
/// Kept per context bank (<see cref="ContextBank.Walk"/>), rebuilt whenever the bank is programmed.
/// </summary>
internal readonly struct WalkContext
{
    public readonly PagePool Pool;
    public readonly TranslationRegime Regime;
    /// <summary>Stage 1's table format (TG0 = TG1, T0SZ = T1SZ = 64 − ias).</summary>
    public readonly TableFormat Stage1;
    public readonly ulong Ttbr0;
    public readonly ulong Ttbr1;
    /// <summary>TCR.EPD0: a walk from TTBR0 is disabled (a split bank with no process active).</summary>
    public readonly bool Epd0;
    /// <summary>TCR.EPD1: a walk from TTBR1 is disabled (a bank that is not split).</summary>
    public readonly bool Epd1;
    public readonly TableFormat Stage2;
    /// <summary>VTTBR's table address: the stage-2 root.</summary>
    public readonly ulong Vttbr;
    /// <summary>Stage 1 alone with the 4 KiB granule: a batch's fill may take <see cref="Walker.DescendStage1Granule4K"/>.</summary>
    public readonly bool IsStage1Granule4K;
    /// <summary>
    /// What <see cref="Walker.DescendStage1Granule4K"/> would otherwise derive on every miss: the pool's base
    /// and its last descriptor's offset, stage 1's start level's shift (4 KiB granule) and root index mask.
    /// </summary>
    public readonly ulong PoolBase, PoolLastWord, Stage1RootIndexMask;
    public readonly int Stage1StartShift4K;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public WalkContext(PagePool pool, TranslationRegime regime, in TableFormat stage1, ulong ttbr0, bool epd0, ulong ttbr1, bool epd1,
                       in TableFormat stage2, ulong vttbr)
    {
        Pool = pool;
        Regime = regime;
        Stage1 = stage1;
        Ttbr0 = ttbr0;
        Epd0 = epd0;
        Ttbr1 = ttbr1;
        Epd1 = epd1;
        Stage2 = stage2;
        Vttbr = vttbr;
        IsStage1Granule4K = regime == TranslationRegime.Stage1 && stage1.PageShift == Geometry.Granule4K;
        PoolBase = pool?.Base ?? 0;
        PoolLastWord = pool is null ? 0 : pool.Bytes - Geometry.DescriptorSize;
        Stage1RootIndexMask = (1UL << stage1.RootIndexBits) - 1;
        Stage1StartShift4K = Geometry.Granule4K + 9 * (Geometry.LastLevel - stage1.StartLevel);
    }

    /// <summary>A stage-1 walk of one tree (a domain's own tables: iova_to_phys, tests).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static WalkContext Stage1Tree(PagePool pool, in TableFormat format, ulong root, bool upperHalf) =>
        new(pool, TranslationRegime.Stage1, format, root, upperHalf, root, !upperHalf, default, 0);

    /// <summary>A stage-2 walk of one tree (a stage-2 domain's tables).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static WalkContext Stage2Tree(PagePool pool, in TableFormat format, ulong root) =>
        new(pool, TranslationRegime.Stage2, default, 0, true, 0, true, format, root);

    /// <summary>Walks <paramref name="input"/> (see <see cref="Walker.Walk"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public FaultType Walk(ulong input, out WalkLeaf leaf, out WalkInfo info) => Walker.Walk(this, input, out leaf, out info);
}
