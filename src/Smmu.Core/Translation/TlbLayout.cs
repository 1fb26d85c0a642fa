using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.CompilerServices;

namespace Smmu.Core.Translation;

/// <summary>
/// The shape of the TLB's columns, which the kernels and the TLB agree on.
/// <code>
/// tag:    [63:48] VMID (XORed onto the VA's bits 63:48) | [47:g] page/block input address | [4] stage-2 input | [3:0] size class
/// asid:   the entry's ASID; 0 = empty way; 0xFFFF = no ASID: a global (nG = 0) or a stage-2-only entry
/// info:   [7:6] leaf level | [5:0] AccessRights
/// </code>
/// The VMID costs the lookup nothing: a context bank's tag base (VMID &lt;&lt; 48) is XORed onto the
/// aligned input address, so one 64-bit compare matches address, VMID, stage and size. Input addresses
/// are at most 48 bits (ias ≤ 48), so bits 63:48 of a TTBR0-half VA or an IPA are 0 and the field holds
/// the VMID; a TTBR1-half VA has them all 1, so the field holds ~VMID. VMIDs stay below 0x8000, so the
/// two never meet and bit 63 of a tag says which half it came from. ASID 0 is never handed out, so
/// "valid" is "ASID ≠ 0" and costs no separate column or load; 0xFFFF is kept back for the same reason.
/// </summary>
internal static class TlbLayout
{
    /// <summary>Ways compared per group: one 512-bit compare of 8 tags.</summary>
    public const int GroupWays = 8;
    /// <summary>ASIDs per widest sweep step; the ASID column is padded to a multiple of it.</summary>
    public const int SweepLanes = 32;

    /// <summary>The ASID of an empty way.</summary>
    public const ushort InvalidAsid = 0;
    /// <summary>The ASID of an entry that matches every ASID: global stage-1 entries and stage-2-only (IPA) entries.</summary>
    public const ushort NoAsid = 0xFFFF;

    /// <summary>Tag bits [3:0]: the size class.</summary>
    public const ulong SizeClassMask = 0xF;
    /// <summary>Tag bit 4: the entry translates an IPA (a stage-2-only bank), not a VA.</summary>
    public const ulong Stage2InputFlag = 0x10;
    /// <summary>Tag bits [4:0]: what kind of entry, compared exactly by range invalidations.</summary>
    public const ulong KindMask = SizeClassMask | Stage2InputFlag;
    /// <summary>Where the VMID sits in a tag.</summary>
    public const int VmidShift = 48;
    /// <summary>The largest VMID a tag can hold without meeting a TTBR1 half's ~VMID.</summary>
    public const int MaxVmid = 0x7FFF;
    /// <summary>Masks a tag down to its input address, half and kind: the VMID field's other 15 bits cleared (for maintenance across VMIDs).</summary>
    public const ulong AnyVmidMask = 0x8000_FFFF_FFFF_FFFF;

    /// <summary>Info bits [7:6]: the level of the leaf (for a permission fault's FSYNR0.PLVL).</summary>
    public const int LevelShift = 6;
    public const byte RightsMask = 0x3F;

    /// <summary>
    /// The sizes the TLB caches, smallest first, one class each: 4K, 16K, 64K (pages of each granule),
    /// 2M, 32M, 512M (level-2 blocks), 1G (a 4K level-1 block). A combined stage 1 + stage 2 entry has the
    /// smaller of its two leaves' sizes.
    /// </summary>
    private static ReadOnlySpan<byte> ClassShifts => [12, 14, 16, 21, 25, 29, 30];

    /// <summary>Size classes.</summary>
    public const int SizeClassCount = 7;

    /// <summary>The size class of a 4 KiB page (<see cref="ClassShifts"/>[0]).</summary>
    public const int PageClass4K = 0;

    /// <summary>log2 of the bytes an entry of <paramref name="sizeClass"/> covers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int SizeClassShift(int sizeClass) => ClassShifts[sizeClass];

    /// <summary>By shift (0..31): its size class, or 0xFF for a shift no leaf has.</summary>
    private static ReadOnlySpan<byte> ClassOfShift =>
    [
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0xFF, 1, 0xFF,
        2, 0xFF, 0xFF, 0xFF, 0xFF, 3, 0xFF, 0xFF, 0xFF, 4, 0xFF, 0xFF, 0xFF, 5, 6, 0xFF,
    ];

    /// <summary>The size class of a leaf covering 2^<paramref name="shift"/> bytes (one of <see cref="ClassShifts"/>): one table load on the fill path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int SizeClassOf(int shift)
    {
        Debug.Assert(ClassShifts.IndexOf((byte)shift) >= 0);
        return Unsafe.Add(ref MemoryMarshal.GetReference(ClassOfShift), shift & 31);
    }
}
