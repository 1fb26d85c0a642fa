using System.Runtime.CompilerServices;

namespace Smmu.Core;

/// <summary>
/// Generation-tagged handles (in the manner of Ryujinx's KHandleTable):
/// <code>
/// instance: [31:30] kind = 1 | [29:10] generation, 1..2^20-1 | [9:0] instance slot
/// domain:   [31:30] kind = 2 | [29:20] instance slot | [19:8] domain slot | [7:0] generation, 1..255
/// </code>
/// A slot's generation advances each time the slot is freed; a slot whose generation is used up is
/// retired, never reused, so a freed handle never names a live object of its instance again. A domain
/// handle carries its instance's slot, and no two live instances share a slot, so a live instance
/// rejects every domain handle of every other live instance — by construction. No valid handle is 0.
/// </summary>
public static class HandleCodec
{
    private const int KindShift = 30;
    /// <summary>Bits of an instance slot: at most 2^10 instances live at once in a process.</summary>
    public const int InstanceSlotBits = 10;
    /// <summary>Bits of a domain slot: at most 2^12 domains allocated at once per instance.</summary>
    public const int DomainSlotBits = 12;
    private const int DomainGenerationBits = 8;
    private const int InstanceGenerationBits = KindShift - InstanceSlotBits;
    private const int DomainSlotShift = DomainGenerationBits;
    private const int DomainOwnerShift = DomainSlotShift + DomainSlotBits;

    /// <summary>Slots a table of <paramref name="kind"/> can address.</summary>
    public static int MaxSlots(HandleKind kind) => 1 << (kind == HandleKind.Instance ? InstanceSlotBits : DomainSlotBits);

    /// <summary>The last generation of a slot; a slot freed at this generation is retired.</summary>
    public static int MaxGeneration(HandleKind kind) => (1 << (kind == HandleKind.Instance ? InstanceGenerationBits : DomainGenerationBits)) - 1;

    /// <summary>Packs an instance handle (<c>smmu_t</c>).</summary>
    public static uint EncodeInstance(int slot, int generation) =>
        (uint)HandleKind.Instance << KindShift | (uint)(generation & MaxGeneration(HandleKind.Instance)) << InstanceSlotBits | (uint)slot;

    /// <summary>Splits an instance handle; false when it is not one or its generation is 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryDecodeInstance(uint handle, out int slot, out int generation)
    {
        slot = (int)(handle & ((1u << InstanceSlotBits) - 1));
        generation = (int)(handle >> InstanceSlotBits) & MaxGeneration(HandleKind.Instance);
        return handle >> KindShift == (uint)HandleKind.Instance && generation != 0;
    }

    /// <summary>Packs a domain handle (<c>smmu_domain_t</c>) of the instance in <paramref name="instanceSlot"/>.</summary>
    public static uint EncodeDomain(int instanceSlot, int slot, int generation) =>
        (uint)HandleKind.Domain << KindShift | (uint)instanceSlot << DomainOwnerShift | (uint)slot << DomainSlotShift
        | (uint)(generation & MaxGeneration(HandleKind.Domain));

    /// <summary>Splits a domain handle; false when it is not one or its generation is 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryDecodeDomain(uint handle, out int instanceSlot, out int slot, out int generation)
    {
        instanceSlot = (int)(handle >> DomainOwnerShift) & ((1 << InstanceSlotBits) - 1);
        slot = (int)(handle >> DomainSlotShift) & ((1 << DomainSlotBits) - 1);
        generation = (int)handle & MaxGeneration(HandleKind.Domain);
        return handle >> KindShift == (uint)HandleKind.Domain && generation != 0;
    }

    /// <summary>The generation after <paramref name="generation"/>; false when the slot must retire.</summary>
    public static bool TryAdvance(HandleKind kind, int generation, out int next)
    {
        next = generation + 1;
        return generation < MaxGeneration(kind);
    }
}
