using System.Diagnostics;

namespace Smmu.Core.Handles;

/// <summary>
/// The process-wide slots of live instances (<see cref="HandleCodec.InstanceSlotBits"/> of them): every
/// instance, managed or created through the C ABI, holds one from creation to disposal, and its domain
/// handles carry it. Next-fit, so a freed slot is reused as late as possible; each slot has a
/// generation for the C handle, and a slot whose generations are used up is retired. Thread-safe:
/// instances may be created and destroyed on different threads at once.
/// </summary>
internal static class InstanceSlots
{
    private static readonly object s_lock = new();
    private static readonly bool[] s_taken = new bool[HandleCodec.MaxSlots(HandleKind.Instance)];
    private static readonly int[] s_generation = CreateGenerations();
    private static int s_next;

    private static int[] CreateGenerations()
    {
        var generations = new int[HandleCodec.MaxSlots(HandleKind.Instance)];
        Array.Fill(generations, 1);
        return generations;
    }

    /// <summary>Takes a free slot and its current generation; false when every slot is taken or retired.</summary>
    public static bool TryTake(out int slot, out int generation)
    {
        lock (s_lock)
        {
            for (int probe = 0; probe < s_taken.Length; probe++)
            {
                int index = (s_next + probe) % s_taken.Length;
                if (!s_taken[index] && s_generation[index] != 0)
                {
                    s_taken[index] = true;
                    s_next = (index + 1) % s_taken.Length;
                    slot = index;
                    generation = s_generation[index];
                    return true;
                }
            }
        }
        slot = -1;
        generation = 0;
        return false;
    }

    /// <summary>Gives a slot back; its generation advances (0: retired for good).</summary>
    public static void Release(int slot)
    {
        lock (s_lock)
        {
            Debug.Assert(s_taken[slot]);
            s_taken[slot] = false;
            s_generation[slot] = HandleCodec.TryAdvance(HandleKind.Instance, s_generation[slot], out int next) ? next : 0;
        }
    }
}
