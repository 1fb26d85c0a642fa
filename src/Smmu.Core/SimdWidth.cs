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
