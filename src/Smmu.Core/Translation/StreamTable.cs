using Smmu.Core.Memory;
using System.Runtime.CompilerServices;

namespace Smmu.Core.Translation;

/// <summary>
/// Stream matching (SMR/S2CR): stream ID → context bank, or unrouted. Each stream's record also carries
/// its bank's TLB context, so that the C header's inline hit path finds a stream's ASID, salt and tag base
/// in one load (<see cref="FastPathStream"/>); the records live in native memory for it. A bank's context
/// changes on a switch: <see cref="Republish"/> copies it to the bank's streams, found through a per-bank
/// list of the streams routed to it.
/// </summary>
internal sealed unsafe class StreamTable : IDisposable
{
    private const int None = -1;
    private readonly NativeBuffer<FastPathStream> _column;
    private FastPathStream* _records;             // _column.Pointer; null once disposed
    private readonly int[] _nextOfBank;           // per stream: the next stream routed to its bank, or None
    private readonly int[] _firstOfBank;          // per bank: its first routed stream, or None

    public StreamTable(int streams, int banks)
    {
        Count = streams;
        _column = new NativeBuffer<FastPathStream>((nuint)streams);
        _records = _column.Pointer;
        new Span<FastPathStream>(_records, streams).Fill(FastPathStream.Unrouted);
        _nextOfBank = new int[streams];
        _firstOfBank = new int[banks];
        Array.Fill(_firstOfBank, None);
    }

    public int Count { get; }

    /// <summary>The records' first element (for the fast-path view).</summary>
    public FastPathStream* Column => _records;

    /// <summary>The context bank <paramref name="streamId"/> (below <see cref="Count"/>) is routed to, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int ContextBankOf(uint streamId) => _records[streamId].Bank;

    /// <summary>Routes a stream to a bank whose TLB context is <paramref name="context"/>.</summary>
    public void Route(uint streamId, int contextBank, in TlbContext context)
    {
        _records[streamId] = new FastPathStream(contextBank, context);
        _nextOfBank[streamId] = _firstOfBank[contextBank];
        _firstOfBank[contextBank] = (int)streamId;
    }

    public void Unroute(uint streamId)
    {
        int bank = _records[streamId].Bank;
        _records[streamId] = FastPathStream.Unrouted;
        ref int link = ref _firstOfBank[bank];
        while (link != (int)streamId)
            link = ref _nextOfBank[link];
        link = _nextOfBank[streamId];
    }

    /// <summary>A bank's TLB context changed: every stream routed to it takes the new one.</summary>
    public void Republish(int contextBank, in TlbContext context)
    {
        for (int stream = _firstOfBank[contextBank]; stream != None; stream = _nextOfBank[stream])
            _records[stream] = new FastPathStream(contextBank, context);
    }

    public void Dispose()
    {
        _records = null;
        _column.Dispose();
    }
}
