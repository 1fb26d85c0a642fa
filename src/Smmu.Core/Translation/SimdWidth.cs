using System.Runtime.Intrinsics;

namespace Smmu.Core;

/// <summary>The vector width the TLB matches sets with (bits; 0 = way by way).</summary>
public enum SimdWidth
{
    /// <summary>Way by way, no vectors.</summary>
    Scalar = 0,
    /// <summary><see cref="System.Runtime.Intrinsics.Vector128"/>: SSE2 / NEON.</summary>
    Vector128 = 128,
    /// <summary><see cref="System.Runtime.Intrinsics.Vector256"/>: AVX2.</summary>
    Vector256 = 256,
    /// <summary><see cref="System.Runtime.Intrinsics.Vector512"/>: AVX-512.</summary>
    Vector512 = 512,
}

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
