using Smmu.Core;

namespace Smmu.Interop;

/// <summary>
/// C handles (<c>smmu_t</c>) → instances, generation-tagged (see <see cref="HandleCodec"/>). Create and
/// destroy take a lock, so threads may create and destroy their own instances at once; a lookup reads
/// one slot without locking, which is safe because an instance is used by one thread at a time.
/// </summary>
internal static class InstanceTable
{
    /// <summary>Instances alive at once.</summary>
    public const int Capacity = 4096;

    private sealed class Slot
    {
        public SmmuInstance? Instance;
        public int Generation = 1;
    }

    private static readonly Slot[] s_slots = CreateSlots();
    private static readonly object s_lock = new();

    private static Slot[] CreateSlots()
    {
        var slots = new Slot[Capacity];
        for (int i = 0; i < slots.Length; i++)
            slots[i] = new Slot();
        return slots;
    }

    /// <summary>Registers an instance; false when every slot is taken.</summary>
    public static bool TryAdd(SmmuInstance instance, out uint handle)
    {
        lock (s_lock)
        {
            for (int i = 0; i < s_slots.Length; i++)
            {
                Slot slot = s_slots[i];
                if (slot.Instance is null)
                {
                    slot.Instance = instance;
                    handle = HandleCodec.Encode(HandleKind.Instance, i, slot.Generation);
                    return true;
                }
            }
        }
        handle = 0;
        return false;
    }

    /// <summary>The live instance a handle names; false for a freed, forged, zero or wrong-kind handle.</summary>
    public static bool TryGet(uint handle, out SmmuInstance instance)
    {
        instance = null!;
        if (!HandleCodec.TryDecode(handle, HandleKind.Instance, out int index, out int generation) || index >= Capacity)
            return false;
        Slot slot = s_slots[index];
        SmmuInstance? found = Volatile.Read(ref slot.Instance);
        if (found is null || slot.Generation != generation)
            return false;
        instance = found;
        return true;
    }

    /// <summary>Unregisters the instance a handle names; its handle goes stale.</summary>
    public static bool TryRemove(uint handle, out SmmuInstance instance)
    {
        lock (s_lock)
        {
            if (!TryGet(handle, out instance))
                return false;
            Slot slot = s_slots[(int)(handle & (HandleCodec.MaxSlots - 1))];
            slot.Generation = HandleCodec.NextGeneration(slot.Generation);
            Volatile.Write(ref slot.Instance, null);
            return true;
        }
    }
}
