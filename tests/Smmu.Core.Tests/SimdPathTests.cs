using Smmu.Core.Translation;
using System.Runtime.Intrinsics;
using static Smmu.Core.Tests.TestSmmu;

namespace Smmu.Core.Tests;

/// <summary>
/// Which TLB path runs. CI runs these (trait Category=Simd) again under <c>DOTNET_EnableAVX512=0</c>,
/// <c>DOTNET_EnableAVX2=0</c> and <c>DOTNET_EnableHWIntrinsic=0</c> with <c>SMMU_EXPECT_SIMD_WIDTH</c>
/// set to the width that leg must get (0, 128, 256 or 512), so a knob that silently stops working fails here.
/// </summary>
[Trait("Category", "Simd")]
public class SimdPathTests
{
    public const string ExpectedWidthVariable = "SMMU_EXPECT_SIMD_WIDTH";

    [Fact]
    public void WidestFollowsTheJitsAcceleratedVectorSizes()
    {
        SimdWidth expected =
            Vector512.IsHardwareAccelerated ? SimdWidth.Vector512 :
            Vector256.IsHardwareAccelerated ? SimdWidth.Vector256 :
            Vector128.IsHardwareAccelerated ? SimdWidth.Vector128 : SimdWidth.Scalar;
        Assert.Equal(expected, SimdSupport.Widest);
    }

    [Fact]
    public void WidestMatchesTheWidthTheEnvironmentDemands()
    {
        string? demanded = Environment.GetEnvironmentVariable(ExpectedWidthVariable);
        if (string.IsNullOrWhiteSpace(demanded))
            return;   // an ordinary run: nothing demanded
        Assert.True(int.TryParse(demanded, out int bits) && bits is 0 or 128 or 256 or 512,
                    $"{ExpectedWidthVariable}={demanded} is not one of 0, 128, 256, 512");
        Assert.Equal((SimdWidth)bits, SimdSupport.Widest);
    }

    [Fact]
    public void AnInstanceMatchesWithTheWidestWidthByDefault()
    {
        using var smmu = Create();
        Assert.Equal(SimdSupport.Widest, smmu.TlbWidth);
    }

    [Fact]
    public void ScalarTlbFlagForcesTheWayByWayPath()
    {
        using var smmu = Create(c => c with { Flags = SmmuConfigFlags.ScalarTlb });
        Assert.Equal(SimdWidth.Scalar, smmu.TlbWidth);
        // And the scalar instance still translates.
        DomainHandle d = smmu.AttachBase();
        Ok(smmu.Map(d, Iova, Pa, 0x1000, ReadWrite));
        Assert.Equal(Pa + 0x10, smmu.TranslateOk(Iova + 0x10));
        Assert.Equal(Pa + 0x20, smmu.TranslateOk(Iova + 0x20));
        Assert.Equal(1UL, smmu.Stats.TlbHits);
    }

    [Fact]
    public void NoAsidTaggingDoesNotChangeTheWidth()
    {
        using var smmu = Create(c => c with { Flags = SmmuConfigFlags.NoAsidTagging });
        Assert.Equal(SimdSupport.Widest, smmu.TlbWidth);
    }

    [Fact]
    public void WidthValuesAreTheBitCountsTheCAbiReports()
    {
        Assert.Equal(0, (int)SimdWidth.Scalar);
        Assert.Equal(128, (int)SimdWidth.Vector128);
        Assert.Equal(256, (int)SimdWidth.Vector256);
        Assert.Equal(512, (int)SimdWidth.Vector512);
    }
}
