using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Smmu.Core.Translation;

/// <summary>Vector128: a group's tags in four compares, its ASIDs in one.</summary>
internal readonly unsafe struct Vector128Kernel : ITlbKernel
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint MatchGroup(ulong* tags, ushort* asids, ulong tag, ushort asid) =>
        MatchTagGroup(tags, tag) & MatchAsidGroup(asids, asid);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint MatchTagGroup(ulong* tags, ulong tag)
    {
        var t = Vector128.Create(tag);
        return Vector128.Equals(Vector128.Load(tags), t).ExtractMostSignificantBits()
            | Vector128.Equals(Vector128.Load(tags + 2), t).ExtractMostSignificantBits() << 2
            | Vector128.Equals(Vector128.Load(tags + 4), t).ExtractMostSignificantBits() << 4
            | Vector128.Equals(Vector128.Load(tags + 6), t).ExtractMostSignificantBits() << 6;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint MatchAsidGroup(ushort* asids, ushort asid) =>
        Vector128.Equals(Vector128.Load(asids), Vector128.Create(asid)).ExtractMostSignificantBits();

    public static uint MatchRangeGroup(ulong* tags, ulong low, ulong span, ulong kind, ulong mask)
    {
        uint ways = 0;
        for (int i = 0; i < TlbLayout.GroupWays; i += Vector128<ulong>.Count)
        {
            var t = Vector128.Load(tags + i);
            var hit = Vector128.LessThanOrEqual((t & Vector128.Create(mask)) - Vector128.Create(low), Vector128.Create(span))
                    & Vector128.Equals(t & Vector128.Create(TlbLayout.KindMask), Vector128.Create(kind));
            ways |= hit.ExtractMostSignificantBits() << i;
        }
        return ways;
    }

    public static uint MatchVmidGroup(ulong* tags, ulong vmid)
    {
        uint ways = 0;
        for (int i = 0; i < TlbLayout.GroupWays; i += Vector128<ulong>.Count)
        {
            var t = Vector128.Load(tags + i);
            var field = Vector128.ShiftRightLogical(t, TlbLayout.VmidShift);
            var hit = Vector128.Equals(field, Vector128.Create(vmid)) | Vector128.Equals(field, Vector128.Create(vmid ^ 0xFFFF));
            ways |= hit.ExtractMostSignificantBits() << i;
        }
        return ways;
    }

    public static int SweepAsid(ushort* asids, nint count, ushort asid)
    {
        int removed = 0;
        var target = Vector128.Create(asid);
        for (nint i = 0; i < count; i += Vector128<ushort>.Count)
        {
            var v = Vector128.Load(asids + i);
            var hit = Vector128.Equals(v, target);
            if (hit != Vector128<ushort>.Zero)
            {
                removed += BitOperations.PopCount(hit.ExtractMostSignificantBits());
                Vector128.AndNot(v, hit).Store(asids + i);
            }
        }
        return removed;
    }

    public static int SweepAll(ushort* asids, nint count)
    {
        int removed = 0;
        for (nint i = 0; i < count; i += Vector128<ushort>.Count)
        {
            var v = Vector128.Load(asids + i);
            removed += Vector128<ushort>.Count - BitOperations.PopCount(Vector128.Equals(v, Vector128<ushort>.Zero).ExtractMostSignificantBits());
            Vector128<ushort>.Zero.Store(asids + i);
        }
        return removed;
    }
}
