using System.Runtime.CompilerServices;
using Smmu.Core;

namespace Smmu.Interop;

/// <summary>
/// C handles (<c>smmu_t</c>) → instances, generation-tagged (see <see cref="HandleCodec"/>). Slots are
/// taken next-fit, so reuse spreads over the table, and a slot whose generations are used up is
/// retired. Create and destroy take a lock, so threads may create and destroy their own instances at
/// once; a lookup reads one slot without locking, which is safe because an instance is used by one
/// thread at a time.
/// </summary>
internal static class InstanceTable
{
    /// <summary>Instances alive at once.</summary>
    public static readonly int Capacity = HandleCodec.MaxSlots(HandleKind.Instance);

    private sealed class Slot
    {
        public SmmuInstance? Instance;
        public int Generation = 1;
        public bool Retired;
    }

    private static readonly Slot[] s_slots = CreateSlots();
    private static readonly object s_lock = new();
    private static int s_next;

    private static Slot[] CreateSlots()
    {
        var slots = new Slot[Capacity];
        for (int i = 0; i < slots.Length; i++)
            slots[i] = new Slot();
        return slots;
    }

    /// <summary>Registers an instance; false when every slot is taken (or retired).</summary>
    public static bool TryAdd(SmmuInstance instance, out uint handle)
    {
        lock (s_lock)
        {
            for (int probe = 0; probe < Capacity; probe++)
            {
                int index = (s_next + probe) % Capacity;
                Slot slot = s_slots[index];
                if (slot.Instance is null && !slot.Retired)
                {
                    Volatile.Write(ref slot.Instance, instance);
                    s_next = (index + 1) % Capacity;
                    handle = HandleCodec.Encode(HandleKind.Instance, index, slot.Generation);
                    return true;
                }
            }
        }
        handle = 0;
        return false;
    }

    /// <summary>
    /// The live instance a handle names, or null for a freed, forged, zero or wrong-kind handle. Returned,
    /// not written through an out parameter: the export path then needs no GC write barrier.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static SmmuInstance? Get(uint handle)
    {
        if (!HandleCodec.TryDecode(handle, HandleKind.Instance, out int index, out int generation))
            return null;
        Slot slot = s_slots[index];
        SmmuInstance? found = Volatile.Read(ref slot.Instance);
        return slot.Generation == generation ? found : null;
    }

    /// <summary>Unregisters the instance a handle names; its handle goes stale for good.</summary>
    public static bool TryRemove(uint handle, out SmmuInstance instance)
    {
        lock (s_lock)
        {
            instance = Get(handle)!;
            if (instance is null)
                return false;
            HandleCodec.TryDecode(handle, HandleKind.Instance, out int index, out _);
            Slot slot = s_slots[index];
            slot.Retired = !HandleCodec.TryAdvance(HandleKind.Instance, slot.Generation, out slot.Generation);
            Volatile.Write(ref slot.Instance, null);
            return true;
        }
    }
}
