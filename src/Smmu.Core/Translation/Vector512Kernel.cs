using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Smmu.Core.Translation;

/// <summary>Vector512 (AVX-512): a group's 8 tags in one compare, its ASIDs in one 128-bit compare.</summary>
internal readonly unsafe struct Vector512Kernel : ITlbKernel
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint MatchGroup(ulong* tags, ushort* asids, ulong tag, ushort asid) =>
        MatchTagGroup(tags, tag) & Vector128Kernel.MatchAsidGroup(asids, asid);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint MatchTagGroup(ulong* tags, ulong tag) =>
        (uint)Vector512.Equals(Vector512.Load(tags), Vector512.Create(tag)).ExtractMostSignificantBits();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint MatchAsidGroup(ushort* asids, ushort asid) => Vector128Kernel.MatchAsidGroup(asids, asid);

    public static uint MatchRangeGroup(ulong* tags, ulong low, ulong span, ulong kind, ulong mask)
    {
        var t = Vector512.Load(tags);
        var hit = Vector512.LessThanOrEqual((t & Vector512.Create(mask)) - Vector512.Create(low), Vector512.Create(span))
                & Vector512.Equals(t & Vector512.Create(TlbLayout.KindMask), Vector512.Create(kind));
        return (uint)hit.ExtractMostSignificantBits();
    }

    public static uint MatchVmidGroup(ulong* tags, ulong vmid)
    {
        var t = Vector512.Load(tags);
        var field = Vector512.ShiftRightLogical(t, TlbLayout.VmidShift);
        var hit = Vector512.Equals(field, Vector512.Create(vmid)) | Vector512.Equals(field, Vector512.Create(vmid ^ 0xFFFF));
        return (uint)hit.ExtractMostSignificantBits();
    }

    public static int SweepAsid(ushort* asids, nint count, ushort asid)
    {
        int removed = 0;
        var target = Vector512.Create(asid);
        for (nint i = 0; i < count; i += Vector512<ushort>.Count)
        {
            var v = Vector512.Load(asids + i);
            var hit = Vector512.Equals(v, target);
            if (hit != Vector512<ushort>.Zero)
            {
                removed += BitOperations.PopCount(hit.ExtractMostSignificantBits());
                Vector512.AndNot(v, hit).Store(asids + i);
            }
        }
        return removed;
    }

    public static int SweepAll(ushort* asids, nint count)
    {
        int removed = 0;
        for (nint i = 0; i < count; i += Vector512<ushort>.Count)
        {
            var v = Vector512.Load(asids + i);
            removed += Vector512<ushort>.Count - BitOperations.PopCount(Vector512.Equals(v, Vector512<ushort>.Zero).ExtractMostSignificantBits());
            Vector512<ushort>.Zero.Store(asids + i);
        }
        return removed;
    }
}
