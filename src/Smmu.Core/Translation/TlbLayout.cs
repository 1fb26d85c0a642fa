namespace Smmu.Core.Translation;

/// <summary>
/// The shape of the TLB's columns that the kernels and the TLB agree on. A way whose ASID is
/// <see cref="InvalidAsid"/> is empty: ASID 0 is never handed out (see <c>AsidAllocator</c>), so the
/// valid bit costs no separate column or load.
/// </summary>
internal static class TlbLayout
{
    /// <summary>Ways compared per group: one 512-bit compare of 8 tags.</summary>
    public const int GroupWays = 8;
    /// <summary>ASIDs per widest sweep step; the ASID column is padded to a multiple of it.</summary>
    public const int SweepLanes = 32;
    /// <summary>Tag bits [1:0] hold the size class.</summary>
    public const ulong SizeClassMask = 0b11;
    /// <summary>The ASID of an empty way.</summary>
    public const ushort InvalidAsid = 0;
}
