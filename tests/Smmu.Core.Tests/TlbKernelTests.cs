using System.Runtime.InteropServices;
using Smmu.Core.Translation;

namespace Smmu.Core.Tests;

/// <summary>
/// Every vector kernel against <see cref="ScalarKernel"/>, the reference, on random column contents.
/// The kernels are called directly on native buffers; all widths run on any CPU (software fallback
/// where the hardware lacks the width), so each is checked everywhere.
/// </summary>
[Trait("Category", "Simd")]
public unsafe class TlbKernelTests
{
    /// <summary>Column length: a multiple of the widest sweep (32), plus a group of padding for the last offset.</summary>
    private const int Length = 256;
    private const int Padding = TlbLayout.GroupWays;

    public static TheoryData<SimdWidth> VectorWidths => new() { SimdWidth.Vector128, SimdWidth.Vector256, SimdWidth.Vector512 };

    [Theory]
    [MemberData(nameof(VectorWidths))]
    public void MatchKernelsAgreeWithScalarAtEveryOffsetAndLeaveTheColumnsAlone(SimdWidth width)
    {
        var rng = new Random(0x5EED + (int)width);
        using var columns = new Columns(Length + Padding);
        for (int trial = 0; trial < 40; trial++)
        {
            columns.Randomize(rng);
            ulong[] tagsBefore = columns.TagsCopy();
            ushort[] asidsBefore = columns.AsidsCopy();
            // Every offset, not only multiples of 8: with fewer than 8 ways a set starts anywhere.
            for (int offset = 0; offset <= Length; offset++)
            {
                ulong* tags = columns.Tags + offset;
                ushort* asids = columns.Asids + offset;
                // Probe values taken from the columns (so matches happen) and random ones.
                ulong tag = rng.Next(4) == 0 ? RandomTag(rng) : tags[rng.Next(TlbLayout.GroupWays)];
                ushort asid = rng.Next(4) == 0 ? RandomAsid(rng) : asids[rng.Next(TlbLayout.GroupWays)];

                Assert.Equal(ScalarKernel.MatchGroup(tags, asids, tag, asid), MatchGroup(width, tags, asids, tag, asid));
                Assert.Equal(ScalarKernel.MatchTagGroup(tags, tag), MatchTagGroup(width, tags, tag));
                Assert.Equal(ScalarKernel.MatchAsidGroup(asids, asid), MatchAsidGroup(width, asids, asid));
                Assert.Equal(ScalarKernel.MatchAsidGroup(asids, 0), MatchAsidGroup(width, asids, 0));

                for (int r = 0; r < 4; r++)
                {
                    RandomRange(rng, tags, out ulong low, out ulong span, out ulong sizeClass);
                    ulong mask = rng.Next(2) == 0 ? ulong.MaxValue : TlbLayout.AnyVmidMask;
                    Assert.Equal(ScalarKernel.MatchRangeGroup(tags, low & mask, span, sizeClass, mask),
                                 MatchRangeGroup(width, tags, low & mask, span, sizeClass, mask));
                    ulong field = tags[rng.Next(TlbLayout.GroupWays)] >> 48;
                    ulong vmid = rng.Next(3) switch { 0 => field, 1 => field ^ 0xFFFF, _ => (ulong)rng.Next(0x8000) };
                    Assert.Equal(ScalarKernel.MatchVmidGroup(tags, vmid), MatchVmidGroup(width, tags, vmid));
                }
            }
            Assert.Equal(tagsBefore, columns.TagsCopy());
            Assert.Equal(asidsBefore, columns.AsidsCopy());
        }
    }

    [Theory]
    [MemberData(nameof(VectorWidths))]
    public void MatchKernelsFindEveryWayOfAGroup(SimdWidth width)
    {
        // Each of the 8 ways in turn is the only match: a lane-order bug (mask bit w for way w) shows here.
        using var columns = new Columns(TlbLayout.GroupWays);
        for (int way = 0; way < TlbLayout.GroupWays; way++)
        {
            for (int w = 0; w < TlbLayout.GroupWays; w++)
            {
                columns.Tags[w] = 0x1000UL * (ulong)(w + 1);
                columns.Asids[w] = (ushort)(w + 1);
            }
            columns.Tags[way] = 0xFFFF_FFFF_F000_0001;
            columns.Asids[way] = 0xFFFF;
            uint expected = 1u << way;
            Assert.Equal(expected, MatchGroup(width, columns.Tags, columns.Asids, 0xFFFF_FFFF_F000_0001, 0xFFFF));
            Assert.Equal(expected, MatchTagGroup(width, columns.Tags, 0xFFFF_FFFF_F000_0001));
            Assert.Equal(expected, MatchAsidGroup(width, columns.Asids, 0xFFFF));
            Assert.Equal(expected, MatchRangeGroup(width, columns.Tags, 0xFFFF_FFFF_F000_0001, 0, 1));
        }
    }

    [Theory]
    [MemberData(nameof(VectorWidths))]
    public void SweepAsidAgreesWithScalarOnCountAndColumn(SimdWidth width)
    {
        var rng = new Random(0xA51D + (int)width);
        using var reference = new Columns(Length);
        using var subject = new Columns(Length);
        for (int trial = 0; trial < 200; trial++)
        {
            reference.Randomize(rng);
            subject.CopyFrom(reference);
            // Non-zero ASIDs only (the sweep's contract), both present and absent ones.
            ushort asid = rng.Next(3) == 0 ? (ushort)rng.Next(1, 0x10000) : reference.Asids[rng.Next(Length)];
            if (asid == 0)
                asid = 1;
            int count = 32 * rng.Next(1, Length / 32 + 1);

            int expected = ScalarKernel.SweepAsid(reference.Asids, count, asid);
            int actual = SweepAsid(width, subject.Asids, count, asid);

            Assert.Equal(expected, actual);
            Assert.Equal(reference.AsidsCopy(), subject.AsidsCopy());
            Assert.Equal(reference.TagsCopy(), subject.TagsCopy());
        }
    }

    [Theory]
    [MemberData(nameof(VectorWidths))]
    public void SweepAllAgreesWithScalarOnCountAndColumn(SimdWidth width)
    {
        var rng = new Random(0xA11 + (int)width);
        using var reference = new Columns(Length);
        using var subject = new Columns(Length);
        for (int trial = 0; trial < 200; trial++)
        {
            reference.Randomize(rng);
            subject.CopyFrom(reference);
            int count = 32 * rng.Next(1, Length / 32 + 1);

            int expected = ScalarKernel.SweepAll(reference.Asids, count);
            int actual = SweepAll(width, subject.Asids, count);

            Assert.Equal(expected, actual);
            Assert.Equal(reference.AsidsCopy(), subject.AsidsCopy());
            Assert.Equal(reference.TagsCopy(), subject.TagsCopy());
            // Only [0, count) is swept: what lies beyond keeps its ASIDs.
            for (int i = count; i < Length; i++)
                Assert.Equal(reference.Asids[i], subject.Asids[i]);
        }
    }

    [Fact]
    public void ScalarKernelIsTheDocumentedReference()
    {
        // The reference itself, on a hand-made group, so that "agrees with scalar" means "is right".
        using var c = new Columns(32);
        ulong[] tags = [0x1000, 0x2001, 0x1000, 0x40_0001, 0xFFFF_FFFF_FFFF_F000, 0x1000, 0x3000, 0x20_0000_0002];
        ushort[] asids = [1, 1, 2, 1, 0, 1, 0, 3];
        for (int w = 0; w < 8; w++)
        {
            c.Tags[w] = tags[w];
            c.Asids[w] = asids[w];
        }
        Assert.Equal(0b0010_0001u, ScalarKernel.MatchGroup(c.Tags, c.Asids, 0x1000, 1));
        Assert.Equal(0b0010_0101u, ScalarKernel.MatchTagGroup(c.Tags, 0x1000));
        Assert.Equal(0b0101_0000u, ScalarKernel.MatchAsidGroup(c.Asids, 0));
        // Class 1 tags within [0x2001, 0x2001 + 0x40_0000]: ways 1 and 3.
        Assert.Equal(0b0000_1010u, ScalarKernel.MatchRangeGroup(c.Tags, 0x2001, 0x40_0000, 1, ulong.MaxValue));
        // tag - low wraps for tags below low: never in range.
        Assert.Equal(0b0000_0000u, ScalarKernel.MatchRangeGroup(c.Tags, 0x40_0002, 0x1000, 1, ulong.MaxValue));
        Assert.Equal(2, ScalarKernel.SweepAsid(c.Asids, 32, 2) + ScalarKernel.SweepAsid(c.Asids, 32, 3));
        Assert.Equal(4, ScalarKernel.SweepAll(c.Asids, 32));
        Assert.Equal(0, ScalarKernel.SweepAll(c.Asids, 32));
    }

    private static ulong RandomTag(Random rng)
    {
        // Aligned block addresses with a size class in [1:0], including ones with the top bit set
        // (the range compare is unsigned) and the extremes.
        return rng.Next(8) switch
        {
            0 => ulong.MaxValue,
            1 => 0,
            2 => (ulong)rng.NextInt64() << 1 | (ulong)rng.Next(2) << 63,
            _ => ((ulong)rng.Next(64) << 12) | ((ulong)rng.Next(2) << 63) | (uint)rng.Next(4),
        };
    }

    private static ushort RandomAsid(Random rng) => rng.Next(4) switch
    {
        0 => 0,
        1 => 0xFFFF,
        2 => 0x8000,
        _ => (ushort)rng.Next(1, 5),
    };

    private static void RandomRange(Random rng, ulong* tags, out ulong low, out ulong span, out ulong sizeClass)
    {
        ulong anchor = rng.Next(3) == 0 ? RandomTag(rng) : tags[rng.Next(TlbLayout.GroupWays)];
        low = rng.Next(3) switch
        {
            0 => anchor,
            1 => anchor - ((ulong)rng.Next(8) << 12),
            _ => anchor + ((ulong)rng.Next(8) << 12),
        };
        span = rng.Next(4) switch
        {
            0 => 0,
            1 => (ulong)rng.Next(16) << 12,
            2 => ulong.MaxValue >> rng.Next(64),
            _ => (ulong)rng.NextInt64(),
        };
        sizeClass = rng.Next(5) == 0 ? (ulong)rng.Next(4) : anchor & TlbLayout.SizeClassMask;
    }

    private static uint MatchGroup(SimdWidth width, ulong* tags, ushort* asids, ulong tag, ushort asid) => width switch
    {
        SimdWidth.Vector128 => Vector128Kernel.MatchGroup(tags, asids, tag, asid),
        SimdWidth.Vector256 => Vector256Kernel.MatchGroup(tags, asids, tag, asid),
        SimdWidth.Vector512 => Vector512Kernel.MatchGroup(tags, asids, tag, asid),
        _ => throw new ArgumentOutOfRangeException(nameof(width)),
    };

    private static uint MatchTagGroup(SimdWidth width, ulong* tags, ulong tag) => width switch
    {
        SimdWidth.Vector128 => Vector128Kernel.MatchTagGroup(tags, tag),
        SimdWidth.Vector256 => Vector256Kernel.MatchTagGroup(tags, tag),
        SimdWidth.Vector512 => Vector512Kernel.MatchTagGroup(tags, tag),
        _ => throw new ArgumentOutOfRangeException(nameof(width)),
    };

    private static uint MatchAsidGroup(SimdWidth width, ushort* asids, ushort asid) => width switch
    {
        SimdWidth.Vector128 => Vector128Kernel.MatchAsidGroup(asids, asid),
        SimdWidth.Vector256 => Vector256Kernel.MatchAsidGroup(asids, asid),
        SimdWidth.Vector512 => Vector512Kernel.MatchAsidGroup(asids, asid),
        _ => throw new ArgumentOutOfRangeException(nameof(width)),
    };

    private static uint MatchVmidGroup(SimdWidth width, ulong* tags, ulong vmid) => width switch
    {
        SimdWidth.Vector128 => Vector128Kernel.MatchVmidGroup(tags, vmid),
        SimdWidth.Vector256 => Vector256Kernel.MatchVmidGroup(tags, vmid),
        SimdWidth.Vector512 => Vector512Kernel.MatchVmidGroup(tags, vmid),
        _ => ScalarKernel.MatchVmidGroup(tags, vmid),
    };

    private static uint MatchRangeGroup(SimdWidth width, ulong* tags, ulong low, ulong span, ulong sizeClass, ulong mask = ulong.MaxValue) => width switch
    {
        SimdWidth.Vector128 => Vector128Kernel.MatchRangeGroup(tags, low, span, sizeClass, mask),
        SimdWidth.Vector256 => Vector256Kernel.MatchRangeGroup(tags, low, span, sizeClass, mask),
        SimdWidth.Vector512 => Vector512Kernel.MatchRangeGroup(tags, low, span, sizeClass, mask),
        _ => throw new ArgumentOutOfRangeException(nameof(width)),
    };

    private static int SweepAsid(SimdWidth width, ushort* asids, nint count, ushort asid) => width switch
    {
        SimdWidth.Vector128 => Vector128Kernel.SweepAsid(asids, count, asid),
        SimdWidth.Vector256 => Vector256Kernel.SweepAsid(asids, count, asid),
        SimdWidth.Vector512 => Vector512Kernel.SweepAsid(asids, count, asid),
        _ => throw new ArgumentOutOfRangeException(nameof(width)),
    };

    private static int SweepAll(SimdWidth width, ushort* asids, nint count) => width switch
    {
        SimdWidth.Vector128 => Vector128Kernel.SweepAll(asids, count),
        SimdWidth.Vector256 => Vector256Kernel.SweepAll(asids, count),
        SimdWidth.Vector512 => Vector512Kernel.SweepAll(asids, count),
        _ => throw new ArgumentOutOfRangeException(nameof(width)),
    };

    /// <summary>A tag and an ASID column in 64-byte-aligned native memory, as the TLB keeps them.</summary>
    private sealed class Columns : IDisposable
    {
        public Columns(int length)
        {
            Count = length;
            Tags = (ulong*)NativeMemory.AlignedAlloc((nuint)(length * sizeof(ulong)), 64);
            Asids = (ushort*)NativeMemory.AlignedAlloc((nuint)(length * sizeof(ushort)), 64);
            new Span<ulong>(Tags, length).Clear();
            new Span<ushort>(Asids, length).Clear();
        }

        public int Count { get; }
        public ulong* Tags { get; }
        public ushort* Asids { get; }

        public void Randomize(Random rng)
        {
            // A small vocabulary so that equal tags and ASIDs recur within a group.
            ulong[] vocabulary = [RandomTag(rng), RandomTag(rng), RandomTag(rng), RandomTag(rng)];
            for (int i = 0; i < Count; i++)
            {
                Tags[i] = rng.Next(3) == 0 ? RandomTag(rng) : vocabulary[rng.Next(vocabulary.Length)];
                Asids[i] = RandomAsid(rng);
            }
        }

        public void CopyFrom(Columns other)
        {
            new Span<ulong>(other.Tags, Count).CopyTo(new Span<ulong>(Tags, Count));
            new Span<ushort>(other.Asids, Count).CopyTo(new Span<ushort>(Asids, Count));
        }

        public ulong[] TagsCopy() => new Span<ulong>(Tags, Count).ToArray();

        public ushort[] AsidsCopy() => new Span<ushort>(Asids, Count).ToArray();

        public void Dispose()
        {
            NativeMemory.AlignedFree(Tags);
            NativeMemory.AlignedFree(Asids);
        }
    }
}
