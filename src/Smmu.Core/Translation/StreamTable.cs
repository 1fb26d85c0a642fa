using Smmu.Core.Memory;

namespace Smmu.Core.Translation;

/// <summary>
/// Stream matching (SMR/S2CR): stream ID → context bank, or unrouted. A native column, so that the C
/// header's inline hit path reads it too (<see cref="FastPathView.StreamBank"/>).
/// </summary>
internal sealed unsafe class StreamTable : IDisposable
{
    private const int Unrouted = -1;
    private readonly NativeBuffer<int> _column;
    private int* _contextBank;   // _column.Pointer; null once disposed

    public StreamTable(int streams)
    {
        Count = streams;
        _column = new NativeBuffer<int>((nuint)streams);
        _contextBank = _column.Pointer;
        new Span<int>(_contextBank, streams).Fill(Unrouted);
    }

    public int Count { get; }

    /// <summary>The column's first element (for the fast-path view).</summary>
    public int* Column => _contextBank;

    /// <summary>The context bank <paramref name="streamId"/> (below <see cref="Count"/>) is routed to, or -1.</summary>
    public int ContextBankOf(uint streamId) => _contextBank[streamId];

    public void Route(uint streamId, int contextBank) => _contextBank[streamId] = contextBank;

    public void Unroute(uint streamId) => _contextBank[streamId] = Unrouted;

    public void Dispose()
    {
        _contextBank = null;
        _column.Dispose();
    }
}
