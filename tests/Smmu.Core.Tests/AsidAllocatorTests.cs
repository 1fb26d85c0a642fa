using Smmu.Core.Domains;
using static Smmu.Core.Tests.TestSmmu;

namespace Smmu.Core.Tests;

/// <summary>
/// The ASID allocator as AsidAllocator.cs documents it (1..2^bits-1, next-fit from the last ASID
/// handed out, wrapping to 1; ASID 0 never), and ASIDs through <see cref="SmmuInstance"/>: unique
/// across base and dynamic domains, exhaustion without side effects, and safe reuse.
/// </summary>
public class AsidAllocatorTests
{
    private static List<ushort> AllocateAll(IdAllocator asids)
    {
        var handed = new List<ushort>();
        while (asids.TryAllocate(out ushort asid))
            handed.Add(asid);
        return handed;
    }

    [Theory]
    [InlineData(8, 255)]
    [InlineData(16, 65534)]
    public void HandsOutEveryAsidFromOneUpOnceAndNeverZero(int bits, int capacity)
    {
        var asids = IdAllocator.ForAsids(bits);
        Assert.Equal(capacity, asids.Capacity);
        List<ushort> handed = AllocateAll(asids);
        Assert.Equal(Enumerable.Range(1, capacity).Select(a => (ushort)a), handed);
        Assert.Equal(capacity, asids.InUse);
        Assert.DoesNotContain((ushort)0, handed);
    }

    [Fact]
    public void ExhaustedAt255With8BitsAndFailingLeavesTheOutputZero()
    {
        var asids = IdAllocator.ForAsids(8);
        Assert.Equal(255, AllocateAll(asids).Count);
        Assert.False(asids.TryAllocate(out ushort none));
        Assert.Equal(0, none);
        Assert.Equal(255, asids.InUse);
        // Failing twice changes nothing; freeing one makes exactly that one available.
        Assert.False(asids.TryAllocate(out _));
        asids.Free(77);
        Assert.True(asids.TryAllocate(out ushort again));
        Assert.Equal(77, again);
        Assert.False(asids.TryAllocate(out _));
    }

    [Fact]
    public void NextFitTakesTheLowestFreeAsidAboveTheLastOneHandedOut()
    {
        var asids = IdAllocator.ForAsids(16);
        for (int i = 1; i <= 4; i++)
        {
            Assert.True(asids.TryAllocate(out ushort a));
            Assert.Equal(i, a);
        }
        asids.Free(2);
        asids.Free(1);
        // Freed 1 and 2 are behind the last (4): the next ones are 5, 6.
        Assert.True(asids.TryAllocate(out ushort five));
        Assert.Equal(5, five);
        Assert.True(asids.TryAllocate(out ushort six));
        Assert.Equal(6, six);
        Assert.False(asids.IsInUse(2));
        Assert.True(asids.IsInUse(6));
        Assert.Equal(4, asids.InUse);
        // Freeing the last one handed out does not make it the next one either.
        asids.Free(6);
        Assert.True(asids.TryAllocate(out ushort seven));
        Assert.Equal(7, seven);
    }

    [Fact]
    public void WrapsAroundToOneAndKeepsGoingNextFit()
    {
        var asids = IdAllocator.ForAsids(8);
        AllocateAll(asids);
        asids.Free(200);
        asids.Free(100);
        asids.Free(3);
        // Last handed out: 255. Nothing above it: wrap to 1, lowest free is 3.
        Assert.True(asids.TryAllocate(out ushort a));
        Assert.Equal(3, a);
        // Then on from 3: 100, then 200.
        Assert.True(asids.TryAllocate(out ushort b));
        Assert.Equal(100, b);
        asids.Free(50);   // behind the cursor: it waits for the next wrap
        Assert.True(asids.TryAllocate(out ushort c));
        Assert.Equal(200, c);
        Assert.True(asids.TryAllocate(out ushort d));
        Assert.Equal(50, d);
        Assert.False(asids.TryAllocate(out _));
    }

    [Theory]
    [InlineData(8, 1)]
    [InlineData(8, 2)]
    [InlineData(16, 3)]
    public void RandomAllocateFreeSequenceMatchesANextFitReference(int bits, int seed)
    {
        var asids = IdAllocator.ForAsids(bits);
        int capacity = (1 << bits) - 1;
        var used = new bool[capacity + 1];
        var live = new List<ushort>();
        int last = 0;
        var rng = new Random(seed);
        // Keep the population around word boundaries (63/64/65, 127/128) by bounding it near the capacity for 8 bits.
        int target = bits == 8 ? capacity : 300;
        for (int step = 0; step < 20_000; step++)
        {
            if (rng.Next(100) < 55 && live.Count < target)
            {
                int expected = -1;
                for (int k = 1; k <= capacity && expected < 0; k++)
                {
                    int candidate = (last + k - 1) % capacity + 1;   // last+1 .. capacity, then 1 .. last
                    if (!used[candidate])
                        expected = candidate;
                }
                bool ok = asids.TryAllocate(out ushort asid);
                Assert.Equal(expected > 0, ok);
                if (!ok)
                    continue;
                Assert.Equal(expected, asid);
                used[asid] = true;
                last = asid;
                live.Add(asid);
            }
            else if (live.Count > 0)
            {
                int i = rng.Next(live.Count);
                asids.Free(live[i]);
                used[live[i]] = false;
                live.RemoveAt(i);
            }
            Assert.Equal(live.Count, asids.InUse);
        }
    }

    // ---------------------------------------------------------------- through SmmuInstance

    [Fact]
    public void AsidsAreUniqueAcrossBaseAndDynamicDomainsOfEveryBank()
    {
        using var smmu = Create();
        var seen = new HashSet<uint>();
        for (uint stream = 0; stream < 4; stream++)
        {
            DomainHandle baseDomain = smmu.AttachBase(stream);
            Assert.True(seen.Add(smmu.AsidOf(baseDomain)));
            for (int k = 0; k < 5; k++)
                Assert.True(seen.Add(smmu.AsidOf(smmu.AttachDynamic(baseDomain, stream))));
            Ok(smmu.GetContextBank(baseDomain, out uint cb));
            Ok(smmu.GetContextBankState(cb, out ContextBankState state));
            Assert.Equal(smmu.AsidOf(baseDomain), state.Asid);
        }
        Assert.Equal(24, seen.Count);
        Assert.DoesNotContain(0u, seen);
    }

    [Fact]
    public void With8BitAsids255DomainsAttachAndTheNextGetsNoSpaceWithNothingChanged()
    {
        using var smmu = Create(c => c with { AsidBits = 8 });
        DomainHandle baseDomain = smmu.AttachBase();
        var asids = new HashSet<uint> { smmu.AsidOf(baseDomain) };
        var dynamics = new List<DomainHandle>();
        for (int k = 0; k < 254; k++)
        {
            dynamics.Add(smmu.AttachDynamic(baseDomain));
            Assert.True(asids.Add(smmu.AsidOf(dynamics[^1])));
        }
        Assert.Equal(255, asids.Count);
        Assert.Equal(Enumerable.Range(1, 255).Select(a => (uint)a).ToHashSet(), asids);

        // One more dynamic domain, and a base domain on another stream (a free bank, but no ASID).
        DomainHandle extra = smmu.Alloc();
        Ok(smmu.GetContextBank(baseDomain, out uint cb));
        Ok(smmu.SetDynamic(extra, true));
        Ok(smmu.SetContextBank(extra, cb));
        DomainHandle extraBase = smmu.Alloc();
        Ok(smmu.GetContextBankState(cb, out ContextBankState bankBefore));
        Ok(smmu.GetContextBankState(1, out ContextBankState bank1Before));
        SmmuStats statsBefore = smmu.Stats;

        Fails(SmmuError.NoSpace, smmu.AttachDevice(extra, Sid));
        Fails(SmmuError.NoSpace, smmu.AttachDevice(extraBase, 1));

        Ok(smmu.GetContextBankState(cb, out ContextBankState bankAfter));
        Ok(smmu.GetContextBankState(1, out ContextBankState bank1After));
        Assert.Equal(bankBefore, bankAfter);
        Assert.Equal(254u, bankAfter.DynamicCount);
        Assert.Equal(bank1Before, bank1After);
        Assert.Equal(0u, bank1After.InUse);
        Assert.Equal(statsBefore, smmu.Stats);
        Fails(SmmuError.NoDevice, smmu.GetAsid(extra, out _));
        Fails(SmmuError.NoDevice, smmu.GetAsid(extraBase, out _));
        Fails(SmmuError.NoDevice, smmu.Translate(1, Iova, SmmuAccess.Read, out _));   // stream 1 was not routed
        // The failed domains are intact: they can be freed (not attached) ...
        Ok(smmu.DomainFree(extraBase));
        // ... or attached as soon as an ASID is free, taking that one.
        uint freed = smmu.AsidOf(dynamics[100]);
        Ok(smmu.DetachDevice(dynamics[100], Sid));
        Ok(smmu.AttachDevice(extra, Sid));
        Assert.Equal(freed, smmu.AsidOf(extra));
    }

    [Fact]
    public void AFreedAsidIsReusedAndItsStaleEntriesAreNeverHitByTheNewDynamicOwner()
    {
        using var smmu = Create(c => c with { AsidBits = 8 });
        DomainHandle baseDomain = smmu.AttachBase();
        DomainHandle oldOwner = smmu.AttachDynamic(baseDomain);
        uint reused = smmu.AsidOf(oldOwner);
        Ok(smmu.Map(oldOwner, Iova, Pa, 0x1000, ReadWrite));
        Ok(smmu.SwitchDomain(oldOwner));
        Assert.Equal(Pa + 0x42, smmu.TranslateOk(Iova + 0x42));
        Assert.True(TlbTests.Lookup(smmu.TlbForTests, Iova, (ushort)reused) >= 0, "the old owner's entry is cached");
        Ok(smmu.DetachDevice(oldOwner, Sid));
        Assert.Equal(-1, TlbTests.Lookup(smmu.TlbForTests, Iova, (ushort)reused));

        // Next-fit hands the freed ASID out last: use up every other one first.
        var fillers = new List<DomainHandle>();
        for (int k = 0; k < 253; k++)
            fillers.Add(smmu.AttachDynamic(baseDomain));
        Assert.DoesNotContain(reused, fillers.Select(smmu.AsidOf));
        DomainHandle newOwner = smmu.AttachDynamic(baseDomain);
        Assert.Equal(reused, smmu.AsidOf(newOwner));

        const ulong Pa2 = Pa + 0x10_0000;
        Ok(smmu.Map(newOwner, Iova, Pa2, 0x1000, ReadWrite));
        Ok(smmu.SwitchDomain(newOwner));
        ulong missesBefore = smmu.Stats.TlbMisses;
        Assert.Equal(Pa2 + 0x42, smmu.TranslateOk(Iova + 0x42));
        Assert.Equal(missesBefore + 1, smmu.Stats.TlbMisses);
    }

    [Fact]
    public void AFreedBaseDomainAsidIsReusedAndItsStaleEntriesAreNeverHitByTheNewBaseOwner()
    {
        using var smmu = Create(c => c with { AsidBits = 8 });
        DomainHandle keeper = smmu.AttachBase(0);
        for (int k = 0; k < 252; k++)
            smmu.AttachDynamic(keeper, 0);
        DomainHandle oldOwner = smmu.AttachBase(1);
        uint reused = smmu.AsidOf(oldOwner);
        Assert.Equal(254u, reused);
        Ok(smmu.Map(oldOwner, Iova, Pa, 0x1000, ReadWrite));
        Assert.Equal(Pa, smmu.TranslateOk(Iova, stream: 1));
        Ok(smmu.DetachDevice(oldOwner, 1));   // its last detach: frees the ASID and the bank
        smmu.AttachDynamic(keeper, 0);        // takes 255, the last one above the cursor

        DomainHandle newOwner = smmu.AttachBase(2);
        Assert.Equal(reused, smmu.AsidOf(newOwner));
        Ok(smmu.Map(newOwner, Iova, Pa + 0x20_0000, 0x1000, ReadWrite));
        Assert.Equal(Pa + 0x20_0000, smmu.TranslateOk(Iova, stream: 2));
    }
}
