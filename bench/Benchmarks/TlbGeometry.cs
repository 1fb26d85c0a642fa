namespace Smmu.Bench.Benchmarks;

/// <summary>
/// A TLB shape as one benchmark parameter, shown as "entries x ways". Lets a class sweep entries at
/// the default associativity and ways at the default size (5 points) instead of the full 3 x 3 grid,
/// which would multiply every other parameter of the class by 9.
/// </summary>
public readonly record struct TlbGeometry(int Entries, int Ways)
{
    /// <summary>256/1024/4096 entries at 8 ways, and 4/16 ways at 1024 entries.</summary>
    public static IEnumerable<TlbGeometry> EntriesAndWays =>
        [new(256, 8), new(1024, 8), new(4096, 8), new(1024, 4), new(1024, 16)];

    public override string ToString() => $"{Entries}x{Ways}";
}
