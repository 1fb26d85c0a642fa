using System.Diagnostics;

namespace Smmu.Core.Domains;

/// <summary>
/// The domains of an instance, in slots addressed by generation-tagged <see cref="DomainHandle"/>s.
/// Freed slots are reused oldest first, which keeps a stale handle stale for as long as possible.
/// </summary>
internal sealed class DomainTable
{
    private Domain[] _slots = new Domain[16];
    private int _highWater;                   // slots ever used
    private int[] _freeRing = new int[16];    // FIFO of freed slot indices
    private int _freeHead, _freeCount;

    /// <summary>Domains allocated.</summary>
    public int Count { get; private set; }

    /// <summary>The slot at <paramref name="index"/> (from <see cref="TryResolve"/> or <see cref="TryAdd"/>).</summary>
    public ref Domain this[int index] => ref _slots[index];

    /// <summary>Takes a slot for a new domain; false when every handle index is taken.</summary>
    public bool TryAdd(out int index, out DomainHandle handle)
    {
        if (_freeCount > 0)
        {
            index = _freeRing[_freeHead];
            _freeHead = (_freeHead + 1) % _freeRing.Length;
            _freeCount--;
        }
        else if (_highWater < HandleCodec.MaxSlots)
        {
            index = _highWater++;
            if (index == _slots.Length)
                Array.Resize(ref _slots, _slots.Length * 2);
            _slots[index].Generation = 1;
        }
        else
        {
            index = -1;
            handle = default;
            return false;
        }
        ref Domain slot = ref _slots[index];
        slot = new Domain { Generation = slot.Generation, InUse = true, RequestedContextBank = -1, ContextBank = -1 };
        Count++;
        handle = new DomainHandle(HandleCodec.Encode(HandleKind.Domain, index, slot.Generation));
        return true;
    }

    /// <summary>The slot of a live domain; false for a freed, forged, zero or wrong-kind handle.</summary>
    public bool TryResolve(DomainHandle handle, out int index)
    {
        if (!HandleCodec.TryDecode(handle.Value, HandleKind.Domain, out index, out int generation)
            || index >= _highWater)
            return false;
        ref readonly Domain slot = ref _slots[index];
        return slot.InUse && slot.Generation == generation;
    }

    /// <summary>The handle of the live domain in <paramref name="index"/>.</summary>
    public DomainHandle HandleOf(int index) => new(HandleCodec.Encode(HandleKind.Domain, index, _slots[index].Generation));

    /// <summary>Frees a slot; its handle stops resolving.</summary>
    public void Remove(int index)
    {
        ref Domain slot = ref _slots[index];
        Debug.Assert(slot.InUse);
        slot = new Domain { Generation = HandleCodec.NextGeneration(slot.Generation) };
        Count--;
        if (_freeCount == _freeRing.Length)
        {
            var grown = new int[_freeRing.Length * 2];
            for (int i = 0; i < _freeCount; i++)
                grown[i] = _freeRing[(_freeHead + i) % _freeRing.Length];
            _freeRing = grown;
            _freeHead = 0;
        }
        _freeRing[(_freeHead + _freeCount) % _freeRing.Length] = index;
        _freeCount++;
    }
}
