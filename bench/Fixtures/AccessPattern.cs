using Smmu.Core;

namespace Smmu.Bench.Fixtures;

/// <summary>Precomputed IOVA streams, seeded so every run replays the same accesses.</summary>
internal static class AccessPattern
{
    /// <summary>
    /// <paramref name="count"/> IOVAs spread uniformly at random over <paramref name="units"/> units of
    /// <paramref name="unitSize"/> bytes from <paramref name="start"/>, each at a random 8-byte offset.
    /// </summary>
    public static ulong[] Random(int count, int units, ulong unitSize = Layout.PageSize, ulong start = Layout.IovaBase, int seed = 42)
    {
        var random = new Random(seed);
        var iovas = new ulong[count];
        for (int i = 0; i < iovas.Length; i++)
            iovas[i] = start + (ulong)random.Next(units) * unitSize + ((ulong)random.NextInt64((long)unitSize) & ~7UL);
        return iovas;
    }

    /// <summary>Every page of <paramref name="pages"/> once, in order (fills a TLB deterministically).</summary>
    public static ulong[] Sequential(int pages, ulong start = Layout.IovaBase)
    {
        var iovas = new ulong[pages];
        for (int i = 0; i < iovas.Length; i++)
            iovas[i] = start + (ulong)i * Layout.PageSize;
        return iovas;
    }
}
