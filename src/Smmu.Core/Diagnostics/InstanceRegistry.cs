namespace Smmu.Core.Diagnostics;

/// <summary>
/// The live <see cref="SmmuInstance"/>s of the process, for observers that read them from another
/// thread (<see cref="SmmuMetrics"/>' callbacks). An instance registers as the last step of its
/// construction and unregisters as the first step of <see cref="SmmuInstance.Dispose"/>; both take one
/// lock, and so does <see cref="ReadAll"/>, so an observer never reads an instance being disposed.
/// Nothing on the translate path touches the registry.
/// <para>Instances are held by weak reference: registration does not keep alive an instance whose owner
/// forgot to dispose it (its finalizers still free its native memory). Such an entry is dropped the next
/// time the list is written.</para>
/// </summary>
internal static class InstanceRegistry
{
    /// <summary>The tag key that tells instances apart in every instrument (value: the instance's id).</summary>
    public const string InstanceTag = "instance";

    private sealed record Entry(int Id, WeakReference<SmmuInstance> Instance, KeyValuePair<string, object?>[] Tags);

    private static readonly List<Entry> s_entries = [];
    private static readonly Lock s_lock = new();
    private static int s_lastId;

    /// <summary>
    /// Registers <paramref name="instance"/> and returns its id: 1 for the first instance the process
    /// creates, then 2, 3, … (never reused), so a C program can tell its instances apart by creation order.
    /// </summary>
    public static int Register(SmmuInstance instance)
    {
        SmmuMetrics.EnsureCreated();
        GC.KeepAlive(SmmuEventSource.Log);   // created here, once, rather than on the first fault
        lock (s_lock)
        {
            int id = ++s_lastId;
            s_entries.RemoveAll(static e => !e.Instance.TryGetTarget(out _));
            s_entries.Add(new Entry(id, new WeakReference<SmmuInstance>(instance), [new(InstanceTag, id)]));
            return id;
        }
    }

    /// <summary>Removes the instance with <paramref name="id"/>; nothing when it is not registered.</summary>
    public static void Unregister(int id)
    {
        lock (s_lock)
        {
            int index = s_entries.FindIndex(e => e.Id == id);
            if (index >= 0)
                s_entries.RemoveAt(index);
        }
    }

    /// <summary>
    /// Appends each live instance's statistics, with its tags, to <paramref name="into"/>, in creation
    /// order. Each instance's counters are read without stopping its thread: see <see cref="SmmuMetrics"/>
    /// for what that guarantees.
    /// </summary>
    public static void ReadAll(List<(KeyValuePair<string, object?>[] Tags, SmmuStats Stats)> into)
    {
        lock (s_lock)
        {
            foreach (Entry e in s_entries)
            {
                if (e.Instance.TryGetTarget(out SmmuInstance? instance))
                {
                    instance.GetStats(out SmmuStats stats);
                    into.Add((e.Tags, stats));
                }
            }
        }
    }
}
