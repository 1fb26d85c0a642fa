using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Smmu.Core.Translation;

/// <summary>
/// The compare kernels of the TLB, one struct per vector width so that generic code over
/// <c>TKernel : struct, ITlbKernel</c> is compiled once per width with the kernel inlined.
/// A "group" is 8 consecutive ways; every mask returned has bit w for way w of the group.
/// The columns are padded so a kernel may always read a whole group (and 32 ASIDs in a sweep).
/// </summary>
internal unsafe interface ITlbKernel
{
    /// <summary>Ways whose tag equals <paramref name="tag"/> and whose ASID equals <paramref name="asid"/>.</summary>
    static abstract uint MatchGroup(ulong* tags, ushort* asids, ulong tag, ushort asid);

    /// <summary>Ways whose tag equals <paramref name="tag"/>, whatever their ASID.</summary>
    static abstract uint MatchTagGroup(ulong* tags, ulong tag);

    /// <summary>Ways whose ASID equals <paramref name="asid"/> (0 finds the invalid ways).</summary>
    static abstract uint MatchAsidGroup(ushort* asids, ushort asid);

    /// <summary>Ways with (tag - <paramref name="low"/>) &lt;= <paramref name="span"/> and size class <paramref name="sizeClass"/>.</summary>
    static abstract uint MatchRangeGroup(ulong* tags, ulong low, ulong span, ulong sizeClass);

    /// <summary>Sets every ASID equal to <paramref name="asid"/> (non-zero) in [0, count) to 0; returns how many. count is a multiple of 32.</summary>
    static abstract int SweepAsid(ushort* asids, nint count, ushort asid);

    /// <summary>Sets every ASID in [0, count) to 0; returns how many were non-zero. count is a multiple of 32.</summary>
    static abstract int SweepAll(ushort* asids, nint count);
}

/// <summary>Way by way: the reference every vector kernel must agree with.</summary>
internal readonly unsafe struct ScalarKernel : ITlbKernel
{
    public static uint MatchGroup(ulong* tags, ushort* asids, ulong tag, ushort asid)
    {
        uint mask = 0;
        for (int w = 0; w < TlbKernel.GroupWays; w++)
            mask |= (tags[w] == tag && asids[w] == asid ? 1u : 0u) << w;
        return mask;
    }

    public static uint MatchTagGroup(ulong* tags, ulong tag)
    {
        uint mask = 0;
        for (int w = 0; w < TlbKernel.GroupWays; w++)
            mask |= (tags[w] == tag ? 1u : 0u) << w;
        return mask;
    }

    public static uint MatchAsidGroup(ushort* asids, ushort asid)
    {
        uint mask = 0;
        for (int w = 0; w < TlbKernel.GroupWays; w++)
            mask |= (asids[w] == asid ? 1u : 0u) << w;
        return mask;
    }

    public static uint MatchRangeGroup(ulong* tags, ulong low, ulong span, ulong sizeClass)
    {
        uint mask = 0;
        for (int w = 0; w < TlbKernel.GroupWays; w++)
            mask |= (tags[w] - low <= span && (tags[w] & TlbKernel.SizeClassMask) == sizeClass ? 1u : 0u) << w;
        return mask;
    }

    public static int SweepAsid(ushort* asids, nint count, ushort asid)
    {
        int removed = 0;
        for (nint i = 0; i < count; i++)
        {
            if (asids[i] == asid)
            {
                asids[i] = 0;
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
            removed += asids[i] != 0 ? 1 : 0;
            asids[i] = 0;
        }
        return removed;
    }
}

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

    public static uint MatchRangeGroup(ulong* tags, ulong low, ulong span, ulong sizeClass)
    {
        uint mask = 0;
        for (int i = 0; i < TlbKernel.GroupWays; i += Vector128<ulong>.Count)
        {
            var t = Vector128.Load(tags + i);
            var hit = Vector128.LessThanOrEqual(t - Vector128.Create(low), Vector128.Create(span))
                    & Vector128.Equals(t & Vector128.Create(TlbKernel.SizeClassMask), Vector128.Create(sizeClass));
            mask |= hit.ExtractMostSignificantBits() << i;
        }
        return mask;
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

    public static uint MatchRangeGroup(ulong* tags, ulong low, ulong span, ulong sizeClass)
    {
        uint mask = 0;
        for (int i = 0; i < TlbKernel.GroupWays; i += Vector256<ulong>.Count)
        {
            var t = Vector256.Load(tags + i);
            var hit = Vector256.LessThanOrEqual(t - Vector256.Create(low), Vector256.Create(span))
                    & Vector256.Equals(t & Vector256.Create(TlbKernel.SizeClassMask), Vector256.Create(sizeClass));
            mask |= hit.ExtractMostSignificantBits() << i;
        }
        return mask;
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

    public static uint MatchRangeGroup(ulong* tags, ulong low, ulong span, ulong sizeClass)
    {
        var t = Vector512.Load(tags);
        var hit = Vector512.LessThanOrEqual(t - Vector512.Create(low), Vector512.Create(span))
                & Vector512.Equals(t & Vector512.Create(TlbKernel.SizeClassMask), Vector512.Create(sizeClass));
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

/// <summary>Constants shared by the kernels and the TLB.</summary>
internal static class TlbKernel
{
    /// <summary>Ways compared per group.</summary>
    public const int GroupWays = 8;
    /// <summary>ASIDs per widest sweep step; the ASID column is padded to a multiple of it.</summary>
    public const int SweepLanes = 32;
    /// <summary>Tag bits [1:0] hold the size class.</summary>
    public const ulong SizeClassMask = 0b11;
}
