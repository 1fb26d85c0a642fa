using System.Runtime.Intrinsics;

namespace Smmu.Core;

/// <summary>What this process can run.</summary>
public static class SimdSupport
{
    /// <summary>
    /// The widest accelerated width. Under the JIT this follows the CPU (and <c>DOTNET_EnableAVX512F</c>
    /// and friends); under NativeAOT it is fixed when the library is compiled (<c>IlcInstructionSet</c>).
    /// </summary>
    public static SimdWidth Widest =>
        Vector512.IsHardwareAccelerated ? SimdWidth.Vector512 :
        Vector256.IsHardwareAccelerated ? SimdWidth.Vector256 :
        Vector128.IsHardwareAccelerated ? SimdWidth.Vector128 : SimdWidth.Scalar;
}
