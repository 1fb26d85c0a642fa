namespace Smmu.Core.Maintenance;

/// <summary>What a gather's ticket names (see <see cref="GatherTable.Resolve"/>).</summary>
internal enum TicketState
{
    /// <summary>No ticket: nothing gathered.</summary>
    Empty,
    /// <summary>A pending record.</summary>
    Pending,
    /// <summary>A record that was synced since (through a copy of the gather, a missed-sync repair, or into the flush queue): an empty gather.</summary>
    Settled,
    /// <summary>No ticket this instance ever issued.</summary>
    Forged,
}

/// <summary>
/// The instance's gather records, by slot, each named to its caller by a ticket: the slot and the
/// generation of its holder, so that a stale copy of a gather reads as empty and a made-up value is
/// recognized. Slots are reused; the table grows (by doubling) only when every slot is held.
/// </summary>
internal sealed class GatherTable
{
    private GatherRecord[] _records = new GatherRecord[16];
    private int[] _freeSlots = new int[16];
    private int _freeCount;
    private int _used;   // slots ever taken: [0, _used) have a generation

    /// <summary>The record in <paramref name="slot"/>.</summary>
    public ref GatherRecord this[int slot] => ref _records[slot];

    /// <summary>Slots ever taken (the live records are among them).</summary>
    public int SlotCount => _used;

    /// <summary>The ticket of the record in <paramref name="slot"/>: never 0.</summary>
    public ulong TicketOf(int slot) => (ulong)_records[slot].Generation << 32 | (uint)(slot + 1);

    public TicketState Resolve(ulong ticket, out int slot)
    {
        slot = (int)(uint)ticket - 1;
        uint generation = (uint)(ticket >> 32);
        if (ticket == 0)
            return TicketState.Empty;
        if ((uint)slot >= (uint)_used || generation == 0 || generation > _records[slot].Generation)
            return TicketState.Forged;
        ref GatherRecord record = ref _records[slot];
        return generation == record.Generation && record.Live && !record.Queued ? TicketState.Pending : TicketState.Settled;
    }

    /// <summary>Takes a slot for a new record (live, with a new generation).</summary>
    public int Take()
    {
        int slot;
        if (_freeCount > 0)
        {
            slot = _freeSlots[--_freeCount];
        }
        else
        {
            if (_used == _records.Length)
            {
                Array.Resize(ref _records, _records.Length * 2);
                Array.Resize(ref _freeSlots, _records.Length);
            }
            slot = _used++;
        }
        ref GatherRecord record = ref _records[slot];
        uint generation = record.Generation + 1;
        record = new GatherRecord { Generation = generation == 0 ? 1 : generation, Live = true };
        return slot;
    }

    /// <summary>Gives a slot back; its record's tables must have been freed.</summary>
    public void Release(int slot)
    {
        ref GatherRecord record = ref _records[slot];
        record.Live = false;
        record.Queued = false;
        _freeSlots[_freeCount++] = slot;
    }
}
