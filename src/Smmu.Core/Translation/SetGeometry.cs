namespace Smmu.Core.Translation;

/// <summary>
/// How a loop's probe walks a TLB set, as a type parameter so that the default geometry — one group of
/// <see cref="TlbLayout.GroupWays"/> ways a set — compiles to constants: one compare, no way loop, and three
/// values fewer to keep in registers.
/// </summary>
internal interface ISetGeometry
{
    /// <summary>True when every set is exactly one group of ways.</summary>
    static abstract bool IsOneGroup { get; }
}

/// <summary>Sets of one group of <see cref="TlbLayout.GroupWays"/> ways (the default geometry).</summary>
internal readonly struct OneGroupSets : ISetGeometry
{
    public static bool IsOneGroup => true;
}

/// <summary>Any number of ways, read from the TLB.</summary>
internal readonly struct AnySets : ISetGeometry
{
    public static bool IsOneGroup => false;
}
