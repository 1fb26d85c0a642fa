namespace Smmu.Core.Translation;

/// <summary>Stream matching (SMR/S2CR in hardware): stream ID → context bank.</summary>
internal sealed class StreamTable
{
    private const int Unrouted = -1;
    private readonly int[] _contextBank;

    public StreamTable(int streams)
    {
        _contextBank = new int[streams];
        Array.Fill(_contextBank, Unrouted);
    }

    public int Count => _contextBank.Length;

    /// <summary>The context bank <paramref name="streamId"/> (in range) is routed to, or -1.</summary>
    public int ContextBankOf(uint streamId) => _contextBank[streamId];

    public void Route(uint streamId, int contextBank) => _contextBank[streamId] = contextBank;

    public void Unroute(uint streamId) => _contextBank[streamId] = Unrouted;
}
