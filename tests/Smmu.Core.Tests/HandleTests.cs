using Smmu.Core;
using static Smmu.Core.Tests.TestSmmu;

namespace Smmu.Core.Tests;

/// <summary>Generation-tagged domain handles: never valid again once freed, and bound to their instance.</summary>
public class HandleTests
{
    [Fact]
    public void AFreedHandleNeverNamesALiveDomainEvenAfterItsSlotsGenerationsAreUsedUp()
    {
        using var smmu = Create();
        DomainHandle first = smmu.Alloc();
        Ok(smmu.DomainFree(first));
        int cycles = HandleCodec.MaxGeneration(HandleKind.Domain) + 10;
        var seen = new HashSet<uint> { first.Value };
        for (int i = 0; i < cycles; i++)
        {
            DomainHandle d = smmu.Alloc();
            Assert.True(seen.Add(d.Value), $"handle 0x{d.Value:x8} handed out twice (cycle {i})");
            Fails(SmmuError.BadHandle, smmu.GetProcId(first, out _));
            Ok(smmu.DomainFree(d));
        }
    }

    [Fact]
    public void ASlotIsRetiredWhenItsGenerationsAreUsedUp()
    {
        using var smmu = Create();
        int index = -1;
        for (int i = 0; i < HandleCodec.MaxGeneration(HandleKind.Domain); i++)
        {
            DomainHandle d = smmu.Alloc();
            HandleCodec.TryDecode(d.Value, HandleKind.Domain, out int slot, out _);
            Assert.True(index < 0 || slot == index, "the only free slot is reused while it has generations left");
            index = slot;
            Ok(smmu.DomainFree(d));
        }
        DomainHandle next = smmu.Alloc();
        HandleCodec.TryDecode(next.Value, HandleKind.Domain, out int nextIndex, out _);
        Assert.NotEqual(index, nextIndex);
    }

    [Fact]
    public void AnotherInstancesDomainHandleIsABadHandle()
    {
        for (int pair = 0; pair < 16; pair++)
        {
            using var a = Create();
            using var b = Create();
            DomainHandle fromA = a.Alloc();
            DomainHandle fromB = b.Alloc();   // the same slot index in b, alive
            Fails(SmmuError.BadHandle, b.GetProcId(fromA, out _));
            Fails(SmmuError.BadHandle, a.GetProcId(fromB, out _));
            Ok(b.GetProcId(fromB, out _));
        }
    }

    [Theory]
    [InlineData(HandleKind.Instance, 12, (1 << 18) - 1)]
    [InlineData(HandleKind.Domain, 20, (1 << 10) - 1)]
    public void HandlesRoundTripAndCarryTheirKind(HandleKind kind, int indexBits, int maxGeneration)
    {
        Assert.Equal(indexBits, HandleCodec.IndexBits(kind));
        Assert.Equal(maxGeneration, HandleCodec.MaxGeneration(kind));
        int index = (1 << indexBits) - 1;
        foreach (int salt in new[] { 0, 1, 0x2AA })
        {
            uint handle = HandleCodec.Encode(kind, index, maxGeneration, salt);
            Assert.True(HandleCodec.TryDecode(handle, kind, out int i, out int g, salt));
            Assert.Equal((index, maxGeneration), (i, g));
            HandleKind other = kind == HandleKind.Domain ? HandleKind.Instance : HandleKind.Domain;
            Assert.False(HandleCodec.TryDecode(handle, other, out _, out _, salt));
        }
        Assert.False(HandleCodec.TryDecode(0, kind, out _, out _));
        Assert.False(HandleCodec.TryAdvance(kind, maxGeneration, out _));
        Assert.True(HandleCodec.TryAdvance(kind, maxGeneration - 1, out int last));
        Assert.Equal(maxGeneration, last);
    }
}
