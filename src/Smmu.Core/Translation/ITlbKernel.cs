namespace Smmu.Core.Translation;

/// <summary>
/// The compare kernels of the TLB, one struct per vector width, so that generic code over
/// <c>TKernel : struct, ITlbKernel</c> is compiled once per width with the kernel inlined.
/// A "group" is <see cref="TlbLayout.GroupWays"/> consecutive ways; every mask returned has bit w for
/// way w of the group. The columns are padded so a kernel may always read a whole group (and
/// <see cref="TlbLayout.SweepLanes"/> ASIDs in a sweep). <see cref="ScalarKernel"/> is the reference
/// every vector kernel must agree with.
/// </summary>
internal unsafe interface ITlbKernel
{
    /// <summary>Ways whose tag equals <paramref name="tag"/> and whose ASID equals <paramref name="asid"/>.</summary>
    static abstract uint MatchGroup(ulong* tags, ushort* asids, ulong tag, ushort asid);

    /// <summary>Ways whose tag equals <paramref name="tag"/>, whatever their ASID.</summary>
    static abstract uint MatchTagGroup(ulong* tags, ulong tag);

    /// <summary>Ways whose ASID equals <paramref name="asid"/> (<see cref="TlbLayout.InvalidAsid"/> finds the empty ways).</summary>
    static abstract uint MatchAsidGroup(ushort* asids, ushort asid);

    /// <summary>
    /// Ways with ((tag AND <paramref name="mask"/>) − <paramref name="low"/>) &lt;= <paramref name="span"/> and kind
    /// (tag bits [4:0]) <paramref name="kind"/>: the entries of one kind whose input address lies in a range
    /// (span 0: one block). The mask drops the VMID for maintenance across VMIDs.
    /// </summary>
    static abstract uint MatchRangeGroup(ulong* tags, ulong low, ulong span, ulong kind, ulong mask);

    /// <summary>Ways whose tag carries <paramref name="vmid"/>: bits 63:48 equal to it (an IPA or TTBR0-half VA) or to its complement (a TTBR1-half VA).</summary>
    static abstract uint MatchVmidGroup(ulong* tags, ulong vmid);

    /// <summary>Empties every way of <paramref name="asid"/> (a real ASID) in [0, count); returns how many. count is a multiple of <see cref="TlbLayout.SweepLanes"/>.</summary>
    static abstract int SweepAsid(ushort* asids, nint count, ushort asid);

    /// <summary>Empties every way in [0, count); returns how many were valid. count is a multiple of <see cref="TlbLayout.SweepLanes"/>.</summary>
    static abstract int SweepAll(ushort* asids, nint count);
}
