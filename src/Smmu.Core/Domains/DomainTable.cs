using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Smmu.Core.Domains;

/// <summary>
/// The domains of an instance, in slots addressed by generation-tagged <see cref="DomainHandle"/>s
/// (see <see cref="HandleCodec"/>). Freed slots are reused oldest first; a slot whose generations
/// are used up is retired.
/// </summary>
internal sealed class DomainTable
{
    private readonly int _instanceSlot;
    private Domain[] _slots = new Domain[16];
    private int _highWater;                   // slots ever used
    private int[] _freeRing = new int[16];    // FIFO of freed slot indices
    private int _freeHead, _freeCount;

    /// <param name="instanceSlot">The owning instance's slot, part of every handle (see <see cref="HandleCodec"/>).</param>
    public DomainTable(int instanceSlot) => _instanceSlot = instanceSlot;

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
        else if (_highWater < HandleCodec.MaxSlots(HandleKind.Domain))
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
        slot = new Domain { Generation = slot.Generation, InUse = true, RequestedContextBank = -1, ContextBank = -1, NestParent = -1 };
        Count++;
        handle = new DomainHandle(HandleCodec.EncodeDomain(_instanceSlot, index, slot.Generation));
        return true;
    }

    /// <summary>The slot of a live domain; false for a freed, forged, zero or wrong-kind handle, or another instance's.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryResolve(DomainHandle handle, out int index)
    {
        if (!HandleCodec.TryDecodeDomain(handle.Value, out int owner, out index, out int generation)
            || owner != _instanceSlot || index >= _highWater)
            return false;
        ref readonly Domain slot = ref _slots[index];
        return slot.InUse && slot.Generation == generation;
    }

    /// <summary>Frees a slot; its handle stops resolving.</summary>
    public void Remove(int index)
    {
        ref Domain slot = ref _slots[index];
        Debug.Assert(slot.InUse);
        bool reusable = HandleCodec.TryAdvance(HandleKind.Domain, slot.Generation, out int next);
        slot = new Domain { Generation = next };
        Count--;
        if (!reusable)
            return;   // retired: its handles can never name a live domain again
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
