using System.Runtime.CompilerServices;

namespace Smmu.Core;

/// <summary>
/// Generation-tagged handles (in the manner of Ryujinx's KHandleTable):
/// <code>
/// instance: [31:30] kind = 1 | [29:12] generation, 1..2^18-1 | [11:0] slot index
/// domain:   [31:30] kind = 2 | [29:20] generation ^ salt      | [19:0] slot index
/// </code>
/// A slot's generation advances each time the slot is freed; a slot whose generation is used up is
/// retired, never reused, so a freed handle never names a live object again (an instance table runs
/// out only after ~10^9 allocations). A domain table XORs its instance's salt into the generation
/// field, so one instance's domain handles are rejected by another's. No valid handle is 0.
/// </summary>
public static class HandleCodec
{
    private const int KindShift = 30;

    /// <summary>Bits of slot index in a handle of <paramref name="kind"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int IndexBits(HandleKind kind) => kind == HandleKind.Instance ? 12 : 20;

    /// <summary>Slots a table of <paramref name="kind"/> can address.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int MaxSlots(HandleKind kind) => 1 << IndexBits(kind);

    /// <summary>The last generation of a slot; a slot freed at this generation is retired.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int MaxGeneration(HandleKind kind) => (1 << (KindShift - IndexBits(kind))) - 1;

    /// <summary>Packs a handle; <paramref name="salt"/> is the domain table's (0 for instances).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Encode(HandleKind kind, int index, int generation, int salt = 0)
    {
        int bits = IndexBits(kind);
        return (uint)kind << KindShift | (uint)((generation ^ salt) & MaxGeneration(kind)) << bits | (uint)index;
    }

    /// <summary>Splits a handle; false when its kind is not <paramref name="kind"/> or its generation is 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryDecode(uint handle, HandleKind kind, out int index, out int generation, int salt = 0)
    {
        int bits = IndexBits(kind);
        index = (int)(handle & ((1u << bits) - 1));
        generation = ((int)(handle >> bits) ^ salt) & MaxGeneration(kind);
        return handle >> KindShift == (uint)kind && generation != 0;
    }

    /// <summary>The generation after <paramref name="generation"/>; false when the slot must retire.</summary>
    public static bool TryAdvance(HandleKind kind, int generation, out int next)
    {
        next = generation + 1;
        return generation < MaxGeneration(kind);
    }
}
