using System.Runtime.CompilerServices;

namespace Smmu.Core.PageTables;

/// <summary>
/// VMSAv8-64 translation geometry that does not depend on the granule (the rest is per table
/// format: <see cref="TableFormat"/>). No other file uses a bare shift or mask for these quantities.
/// </summary>
internal static class Geometry
{
    /// <summary>Descriptors are 8 bytes.</summary>
    public const int DescriptorSize = sizeof(ulong);

    /// <summary>Level 3 holds pages; a walk starts at level 0..3.</summary>
    public const int LastLevel = 3;

    /// <summary>The widest input and output address size the model supports (no 52-bit LPA/LPA2).</summary>
    public const int MaxAddressBits = 48;
    public const int MinAddressBits = 32;

    /// <summary>log2 of the table pool's unit, the smallest granule: 4 KiB. 16 and 64 KiB tables take 4 and 16 frames.</summary>
    public const int FrameShift = 12;
    public const ulong FrameSize = 1UL << FrameShift;
    public const ulong FrameOffsetMask = FrameSize - 1;

    /// <summary>The granules VMSAv8-64 defines: 4, 16 and 64 KiB (log2 12, 14, 16).</summary>
    public const int Granule4K = 12, Granule16K = 14, Granule64K = 16;

    /// <summary>log2 of a granule given in bytes, or -1 for anything but 4096, 16384, 65536.</summary>
    public static int GranuleShift(uint bytes) => bytes switch
    {
        4096 => Granule4K,
        16384 => Granule16K,
        65536 => Granule64K,
        _ => -1,
    };

    public static bool IsFrameAligned(ulong value) => (value & FrameOffsetMask) == 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsAligned(ulong value, int shift) => (value & ((1UL << shift) - 1)) == 0;

    public static ulong AlignDown(ulong value, ulong size) => value & ~(size - 1);
}
