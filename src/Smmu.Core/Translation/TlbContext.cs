using System.Runtime.CompilerServices;

namespace Smmu.Core.Translation;

/// <summary>
/// What a context bank's translations are tagged with in the TLB, computed when the bank is programmed
/// (attach, switch) so that a lookup does no more than an XOR: the ASID (TTBR0's, or <see cref="TlbLayout.NoAsid"/>
/// for a stage-2-only bank), its set salt, and the tag base (VMID and the stage-2-input flag).
/// </summary>
internal readonly struct TlbContext
{
    public readonly ushort Asid;
    /// <summary>XORed onto a block number to pick the set: a per-ASID hash, 0 for <see cref="TlbLayout.NoAsid"/>.</summary>
    public readonly ulong Salt;
    /// <summary>XORed onto an aligned input address to make the tag: VMID &lt;&lt; 48, plus the stage-2-input flag.</summary>
    public readonly ulong TagBase;

    public TlbContext(ushort asid, ushort vmid, bool stage2Input)
    {
        Asid = asid;
        Salt = SetSalt(asid);
        TagBase = (ulong)vmid << TlbLayout.VmidShift | (stage2Input ? TlbLayout.Stage2InputFlag : 0);
    }

    /// <summary>The VMID in <see cref="TagBase"/>.</summary>
    public ushort Vmid => (ushort)(TagBase >> TlbLayout.VmidShift);

    /// <summary>
    /// The set-index salt of an ASID: a multiplicative (golden-ratio) hash, so nearby ASIDs spread out.
    /// Entries that match every ASID (<see cref="TlbLayout.NoAsid"/>) are unsalted: they must be found
    /// from every ASID.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong SetSalt(ushort asid) => asid == TlbLayout.NoAsid ? 0 : (uint)asid * 0x9E3779B1u >> 16;
}
