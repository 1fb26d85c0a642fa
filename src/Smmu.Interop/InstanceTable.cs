using System.Runtime.CompilerServices;
using Smmu.Core;

namespace Smmu.Interop;

/// <summary>
/// C handles (<c>smmu_t</c>) → instances. An instance's handle is its process-wide slot and that slot's
/// generation (see <see cref="HandleCodec"/>); this table maps the slot to the instance while it is
/// registered. Register and unregister take a lock, so threads may create and destroy their own
/// instances at once; a lookup reads one slot without locking, which is safe because an instance is
/// used by one thread at a time.
/// </summary>
internal static class InstanceTable
{
    /// <summary>Instances alive at once.</summary>
    public static readonly int Capacity = HandleCodec.MaxSlots(HandleKind.Instance);

    private static readonly SmmuInstance?[] s_instances = new SmmuInstance?[Capacity];
    private static readonly object s_lock = new();

    /// <summary>Registers an instance under its slot and returns its C handle.</summary>
    public static uint Add(SmmuInstance instance)
    {
        lock (s_lock)
            Volatile.Write(ref s_instances[instance.Slot], instance);
        return instance.Handle;
    }

    /// <summary>
    /// The live instance a handle names, or null for a freed, forged, zero or wrong-kind handle. Returned,
    /// not written through an out parameter: the export path then needs no GC write barrier.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static SmmuInstance? Get(uint handle)
    {
        if (!HandleCodec.TryDecodeInstance(handle, out int slot, out _))
            return null;
        SmmuInstance? found = Volatile.Read(ref s_instances[slot]);
        return found is not null && found.Handle == handle ? found : null;
    }

    /// <summary>Unregisters the instance a handle names; the caller disposes it, and its handle goes stale for good.</summary>
    public static bool TryRemove(uint handle, out SmmuInstance instance)
    {
        lock (s_lock)
        {
            instance = Get(handle)!;
            if (instance is null)
                return false;
            Volatile.Write(ref s_instances[instance.Slot], null);
            return true;
        }
    }
}
