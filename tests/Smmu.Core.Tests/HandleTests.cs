using Smmu.Core;
using static Smmu.Core.Tests.TestSmmu;

namespace Smmu.Core.Tests;

/// <summary>Generation-tagged domain handles: never valid again once freed, and bound to their instance.</summary>
[Collection(AllInstanceSlots.Name)]
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
            HandleCodec.TryDecodeDomain(d.Value, out _, out int slot, out _);
            Assert.True(index < 0 || slot == index, "the only free slot is reused while it has generations left");
            index = slot;
            Ok(smmu.DomainFree(d));
        }
        DomainHandle next = smmu.Alloc();
        HandleCodec.TryDecodeDomain(next.Value, out _, out int nextIndex, out _);
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
            DomainHandle fromB = b.Alloc();   // the same slot index and generation in b, alive
            Fails(SmmuError.BadHandle, b.GetProcId(fromA, out _));
            Fails(SmmuError.BadHandle, a.GetProcId(fromB, out _));
            Ok(b.GetProcId(fromB, out _));
        }
    }

    /// <summary>
    /// The collision that broke the contract (two instances handing out the same domain handle, so one
    /// could free the other's domain) cannot happen: with the most instances that can live at once, each
    /// holding domains, every instance rejects every other instance's handles.
    /// </summary>
    [Fact]
    public void WithTheMostInstancesAliveEveryInstanceRejectsEveryOtherInstancesDomains()
    {
        var instances = new List<SmmuInstance>();
        try
        {
            // Other tests may hold instances right now: take every slot that is left.
            while (SmmuInstance.Create(SmallConfig(), out SmmuInstance? smmu) == SmmuError.Ok)
                instances.Add(smmu!);
            Assert.True(instances.Count > HandleCodec.MaxSlots(HandleKind.Instance) / 2, $"only {instances.Count} instances");
            Fails(SmmuError.NoMemory, SmmuInstance.Create(SmallConfig(), out _));

            var handles = new DomainHandle[instances.Count][];
            for (int i = 0; i < instances.Count; i++)
                handles[i] = [instances[i].Alloc(), instances[i].Alloc()];
            var all = new HashSet<uint>();
            foreach (DomainHandle[] own in handles)
                foreach (DomainHandle d in own)
                    Assert.True(all.Add(d.Value), $"domain handle 0x{d.Value:x8} handed out by two instances");
            for (int i = 0; i < instances.Count; i++)
                for (int j = 0; j < instances.Count; j++)
                    foreach (DomainHandle d in handles[j])
                        Assert.Equal(i == j ? SmmuError.Ok : SmmuError.BadHandle, instances[i].GetProcId(d, out _));
        }
        finally
        {
            foreach (SmmuInstance smmu in instances)
                smmu.Dispose();
        }
        using var again = Create();   // the slots came back
    }

    [Fact]
    public void HandlesRoundTripAndCarryTheirKind()
    {
        int maxInstance = HandleCodec.MaxSlots(HandleKind.Instance) - 1, maxDomain = HandleCodec.MaxSlots(HandleKind.Domain) - 1;
        foreach (int generation in new[] { 1, HandleCodec.MaxGeneration(HandleKind.Instance) })
        {
            uint handle = HandleCodec.EncodeInstance(maxInstance, generation);
            Assert.True(HandleCodec.TryDecodeInstance(handle, out int slot, out int g));
            Assert.Equal((maxInstance, generation), (slot, g));
            Assert.False(HandleCodec.TryDecodeDomain(handle, out _, out _, out _));
        }
        foreach (int generation in new[] { 1, HandleCodec.MaxGeneration(HandleKind.Domain) })
        {
            uint handle = HandleCodec.EncodeDomain(maxInstance, maxDomain, generation);
            Assert.True(HandleCodec.TryDecodeDomain(handle, out int owner, out int slot, out int g));
            Assert.Equal((maxInstance, maxDomain, generation), (owner, slot, g));
            Assert.False(HandleCodec.TryDecodeInstance(handle, out _, out _));
        }
        Assert.False(HandleCodec.TryDecodeInstance(0, out _, out _));
        Assert.False(HandleCodec.TryDecodeDomain(0, out _, out _, out _));
        foreach (HandleKind kind in new[] { HandleKind.Instance, HandleKind.Domain })
        {
            int max = HandleCodec.MaxGeneration(kind);
            Assert.False(HandleCodec.TryAdvance(kind, max, out _));
            Assert.True(HandleCodec.TryAdvance(kind, max - 1, out int last));
            Assert.Equal(max, last);
        }
    }

    private static SmmuConfig SmallConfig() => DefaultConfig with { PtPoolBytes = 0x4000, TlbEntries = 16, TlbWays = 4, NumStreamIds = 1 };
}

/// <summary>Tests that take every instance slot of the process run alone, so no other test's Create fails meanwhile.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AllInstanceSlots
{
    public const string Name = "all instance slots";
}
