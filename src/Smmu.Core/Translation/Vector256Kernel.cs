using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Smmu.Core.Translation;

/// <summary>Vector256 (AVX2): a group's tags in two compares, its ASIDs in one 128-bit compare.</summary>
internal readonly unsafe struct Vector256Kernel : ITlbKernel
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint MatchGroup(ulong* tags, ushort* asids, ulong tag, ushort asid) =>
        MatchTagGroup(tags, tag) & Vector128Kernel.MatchAsidGroup(asids, asid);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint MatchTagGroup(ulong* tags, ulong tag)
    {
        var t = Vector256.Create(tag);
        return Vector256.Equals(Vector256.Load(tags), t).ExtractMostSignificantBits()
            | Vector256.Equals(Vector256.Load(tags + 4), t).ExtractMostSignificantBits() << 4;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint MatchAsidGroup(ushort* asids, ushort asid) => Vector128Kernel.MatchAsidGroup(asids, asid);

    public static uint MatchRangeGroup(ulong* tags, ulong low, ulong span, ulong kind, ulong mask)
    {
        uint ways = 0;
        for (int i = 0; i < TlbLayout.GroupWays; i += Vector256<ulong>.Count)
        {
            var t = Vector256.Load(tags + i);
            var hit = Vector256.LessThanOrEqual((t & Vector256.Create(mask)) - Vector256.Create(low), Vector256.Create(span))
                    & Vector256.Equals(t & Vector256.Create(TlbLayout.KindMask), Vector256.Create(kind));
            ways |= hit.ExtractMostSignificantBits() << i;
        }
        return ways;
    }

    public static uint MatchVmidGroup(ulong* tags, ulong vmid)
    {
        uint ways = 0;
        for (int i = 0; i < TlbLayout.GroupWays; i += Vector256<ulong>.Count)
        {
            var t = Vector256.Load(tags + i);
            var field = Vector256.ShiftRightLogical(t, TlbLayout.VmidShift);
            var hit = Vector256.Equals(field, Vector256.Create(vmid)) | Vector256.Equals(field, Vector256.Create(vmid ^ 0xFFFF));
            ways |= hit.ExtractMostSignificantBits() << i;
        }
        return ways;
    }

    public static int SweepAsid(ushort* asids, nint count, ushort asid)
    {
        int removed = 0;
        var target = Vector256.Create(asid);
        for (nint i = 0; i < count; i += Vector256<ushort>.Count)
        {
            var v = Vector256.Load(asids + i);
            var hit = Vector256.Equals(v, target);
            if (hit != Vector256<ushort>.Zero)
            {
                removed += BitOperations.PopCount(hit.ExtractMostSignificantBits());
                Vector256.AndNot(v, hit).Store(asids + i);
            }
        }
        return removed;
    }

    public static int SweepAll(ushort* asids, nint count)
    {
        int removed = 0;
        for (nint i = 0; i < count; i += Vector256<ushort>.Count)
        {
            var v = Vector256.Load(asids + i);
            removed += Vector256<ushort>.Count - BitOperations.PopCount(Vector256.Equals(v, Vector256<ushort>.Zero).ExtractMostSignificantBits());
            Vector256<ushort>.Zero.Store(asids + i);
        }
        return removed;
    }
}
