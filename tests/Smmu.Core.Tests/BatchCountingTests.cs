using static Smmu.Core.Tests.TestSmmu;

namespace Smmu.Core.Tests;

/// <summary>
/// A batch counts and reports as single translations would (found by the C reference's soak test): a fault
/// handler called mid-batch sees every translation so far counted, hits + misses = translations; the one
/// it faults on is counted even when the handler's retry finds the stream gone; a failed translation's output
/// slot is left alone.
/// </summary>
public class BatchCountingTests
{
    private const ulong Page = 0x1000;

    [Fact]
    public void AHandlerMidBatchSeesEveryTranslationSoFar()
    {
        using SmmuInstance smmu = Create();
        DomainHandle d = smmu.AttachBase();
        Ok(smmu.Map(d, Iova, Pa, 2 * Page, ReadWrite));
        smmu.TranslateOk(Iova);
        Ok(smmu.ResetStats());
        SmmuStats seen = default;
        Ok(smmu.SetFaultHandler(d, (s, _, in _) =>
        {
            seen = s.Stats;
            return FaultVerdict.Terminate;
        }));
        var pas = new ulong[3];
        Fails(SmmuError.Fault, smmu.TranslateBatch(Sid, [Iova, Iova + Page, Iova + 5 * Page], pas, SmmuAccess.Read, out int done));
        Assert.Equal(2, done);
        Assert.Equal(3ul, seen.Translations);                      // the two before it and the faulting one
        Assert.Equal(1ul, seen.TlbHits);
        Assert.Equal(2ul, seen.TlbMisses);                         // the second page's fill, and the fault's walk
        Assert.Equal(seen.Translations, seen.TlbHits + seen.TlbMisses);
        SmmuStats after = smmu.Stats;
        Assert.Equal(3ul, after.Translations);
        Assert.Equal(after.Translations, after.TlbHits + after.TlbMisses);
    }

    [Fact]
    public void AResetInsideAHandlerKeepsTheCountsConsistent()
    {
        using SmmuInstance smmu = Create();
        DomainHandle d = smmu.AttachBase();
        Ok(smmu.Map(d, Iova, Pa, 4 * Page, ReadWrite));
        Ok(smmu.SetFaultHandler(d, (s, _, in _) =>
        {
            s.ResetStats();
            return FaultVerdict.Terminate;
        }));
        var pas = new ulong[5];
        Fails(SmmuError.Fault, smmu.TranslateBatch(Sid, [Iova, Iova + Page, Iova + 9 * Page, Iova + 2 * Page, Iova + 3 * Page], pas,
                                                   SmmuAccess.Read, out _));
        SmmuStats after = smmu.Stats;
        Assert.Equal(after.Translations, after.TlbHits + after.TlbMisses);
    }

    [Fact]
    public void ATranslationWhoseRetryFindsNoStreamIsCounted()
    {
        using SmmuInstance smmu = Create();
        DomainHandle d = smmu.AttachBase();
        Ok(smmu.Map(d, Iova, Pa, Page, ReadWrite));
        Ok(smmu.SetFaultHandler(d, (s, b, in _) =>
        {
            s.DetachDevice(b, Sid);
            return FaultVerdict.Retry;
        }));
        var pas = new ulong[3];
        Fails(SmmuError.NoDevice, smmu.TranslateBatch(Sid, [Iova, Iova + 7 * Page, Iova], pas, SmmuAccess.Read, out int done));
        Assert.Equal(1, done);
        Assert.Equal(2ul, smmu.Stats.Translations);   // as smmu_translate counts a faulted one: faulted ones included
    }

    [Fact]
    public void AFailedTranslationLeavesItsOutputSlotAlone()
    {
        using SmmuInstance smmu = Create();
        DomainHandle d = smmu.AttachBase();
        Ok(smmu.Map(d, Iova, Pa, Page, ReadWrite));
        ulong[] pas = [7, 7, 7];
        Fails(SmmuError.Fault, smmu.TranslateBatch(Sid, [Iova, Iova + 3 * Page, Iova], pas, SmmuAccess.Read, out int done));
        Assert.Equal(1, done);
        Assert.Equal([Pa, 7UL, 7UL], pas);
    }
}
