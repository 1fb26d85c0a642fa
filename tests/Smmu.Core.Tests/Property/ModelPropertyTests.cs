using Xunit.Abstractions;

namespace Smmu.Core.Tests.Property;

/// <summary>
/// The whole model against a trivially correct reference (<see cref="ReferenceModel"/>: dictionaries of
/// (domain, granule page) → (PA, prot, leaf level)), over CsCheck-generated operation sequences, in every
/// granule: maps (pages, every block size, ranges, global ones, misaligned ones), unmaps (holes, exact
/// leaves, partial blocks that split), split TTBR0/TTBR1 banks and their level-0 faults, switches between a
/// base and three dynamic domains and to detached ones, detach, attach and domain free with ASID reuse,
/// explicit TLB maintenance, translations single and batched with every access kind, iova_to_phys, and
/// audits of the tables page by page. Every result code, output address, unmapped byte count and fault
/// record must agree; a translation may also return a global translation another domain left in the TLB,
/// while one may still be cached. The stage-2 runs are <see cref="NestedModelPropertyTests"/>; the driver,
/// budget and environment variables are <see cref="PropertyRuns"/>'.
/// </summary>
public class ModelPropertyTests(ITestOutputHelper output)
{
    private const int RunCount = 6;   // the InlineData rows below

    /// <summary>
    /// Two runs per granule, one with a split base domain; one run per TLB kernel width; small TLBs so that
    /// entries get evicted; one run in the flush-on-switch mode (with ias 39, so 16K walks start at level 1);
    /// one with a large TLB, frequent detach and attach (<paramref name="churn"/>) and a full 8-bit ASID
    /// space, so that every attach reuses an ASID whose previous owner's entries could still be cached. The
    /// other 8-bit runs keep a few ASIDs spare.
    /// </summary>
    [Theory]
    [InlineData(0, SimdWidth.Scalar, 64u, 4u, 8u, SmmuConfigFlags.None, 25, 2, 48u, 12, false)]
    [InlineData(1, SimdWidth.Vector128, 64u, 4u, 16u, SmmuConfigFlags.None, 25, RunProfile.NoFillers, 48u, 14, true)]
    [InlineData(2, SimdWidth.Vector256, 1024u, 8u, 16u, SmmuConfigFlags.None, 25, RunProfile.NoFillers, 48u, 16, false)]
    [InlineData(3, SimdWidth.Vector512, 32u, 16u, 8u, SmmuConfigFlags.None, 25, 1, 48u, 12, true)]
    [InlineData(4, SimdWidth.Vector128, 16u, 16u, 8u, SmmuConfigFlags.NoAsidTagging, 25, 1, 39u, 14, false)]
    [InlineData(5, SimdWidth.Vector256, 1024u, 8u, 8u, SmmuConfigFlags.None, 200, 0, 48u, 16, true)]
    public void ModelAgreesWithReference(int run, SimdWidth width, uint tlbEntries, uint tlbWays, uint asidBits,
                                         SmmuConfigFlags flags, int churn, int spareAsids, uint ias, int granuleShift, bool split)
    {
        var profile = new RunProfile(run, width, tlbEntries, tlbWays, asidBits, flags, churn, spareAsids, ias, granuleShift, split);
        PropertyRuns.Execute(profile, RunCount, output);
    }
}

/// <summary>
/// The property test with stage 2: the base domain (split or not) is nested under a stage-2 domain that
/// maps the table pool (IPA = PA) and a data window, and that same stage-2 domain is attached alone on a
/// second stream. The reference composes two trivially correct page maps — IOVA → IPA with the stage-1
/// rights, IPA → PA with the stage-2 rights — and predicts each stage-1 table fetch's stage-2 translation
/// (S1PTW faults), the output's (stage-2 faults at the IPA), and which stage a permission fault names.
/// The runs unmap and remap data IPAs and pool pages in stage 2; no stale combined translation may show.
/// </summary>
public class NestedModelPropertyTests(ITestOutputHelper output)
{
    private const int RunCount = 4;   // the InlineData rows below

    /// <summary>
    /// Each granule nested; two runs split; one with 40-bit addresses, where 4K stage 2 must concatenate
    /// its root (level 1, two tables) and 64K stage 1 starts at level 2; one flush-on-switch.
    /// </summary>
    [Theory]
    [InlineData(6, SimdWidth.Vector256, 64u, 8u, 16u, SmmuConfigFlags.None, 25, RunProfile.NoFillers, 48u, 12, false, 48u)]
    [InlineData(7, SimdWidth.Vector128, 64u, 4u, 8u, SmmuConfigFlags.None, 25, 2, 48u, 14, true, 48u)]
    [InlineData(8, SimdWidth.Vector512, 1024u, 8u, 16u, SmmuConfigFlags.None, 25, RunProfile.NoFillers, 40u, 16, false, 40u)]
    [InlineData(9, SimdWidth.Scalar, 16u, 16u, 8u, SmmuConfigFlags.NoAsidTagging, 25, 1, 40u, 12, true, 40u)]
    public void NestedModelAgreesWithReference(int run, SimdWidth width, uint tlbEntries, uint tlbWays, uint asidBits,
                                               SmmuConfigFlags flags, int churn, int spareAsids, uint ias, int granuleShift, bool split, uint oas)
    {
        var profile = new RunProfile(run, width, tlbEntries, tlbWays, asidBits, flags, churn, spareAsids, ias, granuleShift, split,
                                     Stage2: true, Oas: oas);
        PropertyRuns.Execute(profile, RunCount, output);
    }
}
