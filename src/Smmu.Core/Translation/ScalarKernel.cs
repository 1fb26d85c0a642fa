namespace Smmu.Core.Translation;

/// <summary>Way by way: the reference every vector kernel must agree with.</summary>
internal readonly unsafe struct ScalarKernel : ITlbKernel
{
    public static uint MatchGroup(ulong* tags, ushort* asids, ulong tag, ushort asid)
    {
        uint mask = 0;
        for (int w = 0; w < TlbLayout.GroupWays; w++)
            mask |= (tags[w] == tag && asids[w] == asid ? 1u : 0u) << w;
        return mask;
    }

    public static uint MatchTagGroup(ulong* tags, ulong tag)
    {
        uint mask = 0;
        for (int w = 0; w < TlbLayout.GroupWays; w++)
            mask |= (tags[w] == tag ? 1u : 0u) << w;
        return mask;
    }

    public static uint MatchAsidGroup(ushort* asids, ushort asid)
    {
        uint mask = 0;
        for (int w = 0; w < TlbLayout.GroupWays; w++)
            mask |= (asids[w] == asid ? 1u : 0u) << w;
        return mask;
    }

    public static uint MatchRangeGroup(ulong* tags, ulong low, ulong span, ulong kind, ulong mask)
    {
        uint ways = 0;
        for (int w = 0; w < TlbLayout.GroupWays; w++)
            ways |= ((tags[w] & mask) - low <= span && (tags[w] & TlbLayout.KindMask) == kind ? 1u : 0u) << w;
        return ways;
    }

    public static uint MatchVmidGroup(ulong* tags, ulong vmid)
    {
        uint ways = 0;
        for (int w = 0; w < TlbLayout.GroupWays; w++)
            ways |= (tags[w] >> TlbLayout.VmidShift == vmid || tags[w] >> TlbLayout.VmidShift == (vmid ^ 0xFFFF) ? 1u : 0u) << w;
        return ways;
    }

    public static int SweepAsid(ushort* asids, nint count, ushort asid)
    {
        int removed = 0;
        for (nint i = 0; i < count; i++)
        {
            if (asids[i] == asid)
            {
                asids[i] = TlbLayout.InvalidAsid;
                removed++;
            }
        }
        return removed;
    }

    public static int SweepAll(ushort* asids, nint count)
    {
        int removed = 0;
        for (nint i = 0; i < count; i++)
        {
            removed += asids[i] != TlbLayout.InvalidAsid ? 1 : 0;
            asids[i] = TlbLayout.InvalidAsid;
        }
        return removed;
    }
}
