using Smmu.Core.PageTables;
using Smmu.Core.Translation;
using static Smmu.Core.Tests.TestSmmu;

namespace Smmu.Core.Tests;

/// <summary>
/// The TLB, used directly and through <see cref="SmmuInstance"/>, at every kernel width (forced with
/// <see cref="TlbDriver"/> or when the instance is created; all widths run on any CPU) and several geometries: every width gives
/// the same observable results, those results match a way-by-way reference of the documented policy,
/// large pages are cached, replacement follows Tlb.cs exactly, and each invalidation removes exactly
/// the entries it names.
/// </summary>
[Trait("Category", "Simd")]
public class TlbTests
{
    private static readonly SimdWidth[] Widths = [SimdWidth.Scalar, SimdWidth.Vector128, SimdWidth.Vector256, SimdWidth.Vector512];

    private static readonly (int Entries, int Ways)[] AllGeometries = [(1024, 8), (64, 4), (16, 16), (8, 1), (16, 2), (2048, 32)];

    public static TheoryData<int, int> Geometries
    {
        get
        {
            var data = new TheoryData<int, int>();
            foreach (var (entries, ways) in AllGeometries)
                data.Add(entries, ways);
            return data;
        }
    }

    public static TheoryData<SimdWidth, int, int> WidthsAndGeometries
    {
        get
        {
            var data = new TheoryData<SimdWidth, int, int>();
            foreach (SimdWidth width in Widths)
                foreach (var (entries, ways) in AllGeometries)
                    data.Add(width, entries, ways);
            return data;
        }
    }

    /// <summary>Geometries where two ASIDs can hold the same page at once (the invalidation tests need that).</summary>
    public static TheoryData<SimdWidth, int, int> WidthsAndAssociativeGeometries
    {
        get
        {
            var data = new TheoryData<SimdWidth, int, int>();
            foreach (SimdWidth width in Widths)
                foreach (var (entries, ways) in AllGeometries)
                    if (ways >= 2)
                        data.Add(width, entries, ways);
            return data;
        }
    }

    // ---------------------------------------------------------------- the TLB on its own

    [Theory]
    [MemberData(nameof(Geometries))]
    public void RandomScriptGivesTheReferenceResultsAtEveryWidth(int entries, int ways)
    {
        var images = new Dictionary<SimdWidth, Tlb.EntryImage[]>();
        var traces = new Dictionary<SimdWidth, List<long>>();
        foreach (SimdWidth width in Widths)
        {
            using var tlb = new TlbDriver(entries, ways, width);
            var reference = new ReferenceTlb(entries, ways);
            traces[width] = RunScript(tlb, reference, seed: entries * 31 + ways);
            images[width] = Image(tlb);
        }
        foreach (SimdWidth width in Widths)
        {
            Assert.Equal(traces[SimdWidth.Scalar], traces[width]);
            Assert.Equal(images[SimdWidth.Scalar], images[width]);
        }
    }

    /// <summary>
    /// Runs fills (every size class, global and not, several ASIDs and VMIDs, stage-1 and stage-2 inputs,
    /// both halves), lookups and every invalidation, checking each result (entry index, output, rights,
    /// removal count, the ValidEntries delta) against the reference and the whole column image now and then.
    /// </summary>
    private static List<long> RunScript(TlbDriver tlb, ReferenceTlb reference, int seed)
    {
        var rng = new Random(seed);
        var trace = new List<long>();
        // A pool of inputs a few times the TLB's size, so that lookups hit, sets overflow and blocks overlap
        // pages; some in the upper (TTBR1) half.
        ulong[] inputs = new ulong[Math.Max(64, tlb.Entries * 2)];
        for (int i = 0; i < inputs.Length; i++)
        {
            ulong low = (ulong)rng.NextInt64(0, 1L << 36);
            inputs[i] = rng.Next(4) == 0 ? 0xFFFF_0000_0000_0000 | low : low;
        }
        ushort[] asids = [1, 2, 3, 4, 5, 0xFFFE];
        ushort[] vmids = [0, 1, 0x7FFF];
        int[] shifts = [12, 12, 12, 14, 16, 21, 21, 25, 29, 30];
        int steps = Math.Max(3000, tlb.Entries * 6);
        for (int step = 0; step < steps; step++)
        {
            ushort vmid = vmids[rng.Next(vmids.Length)];
            bool stage2 = rng.Next(8) == 0;
            ulong input = inputs[rng.Next(inputs.Length)] + (ulong)rng.Next(0x1000);
            if (stage2)
                input &= (1UL << 48) - 1;   // an IPA
            ushort asid = stage2 ? TlbLayout.NoAsid : asids[rng.Next(asids.Length)];
            var context = new TlbContext(asid, vmid, stage2);
            int op = rng.Next(100);
            int validBefore = tlb.ValidEntries();
            if (op < 45)
            {
                int shift = shifts[rng.Next(shifts.Length)];
                int level = rng.Next(4);
                ulong output = (ulong)rng.NextInt64(0, 1L << 40) >> shift << shift;
                byte rights = (byte)rng.Next(64);
                bool global = !stage2 && rng.Next(6) == 0;
                int entry = tlb.Fill(input, context, new WalkLeaf(output, level, shift, (AccessRights)rights, global));
                Assert.Equal(reference.Fill(input, context, output, shift, level, rights, global), entry);
                trace.Add(entry);
            }
            else if (op < 85)
            {
                int entry = tlb.Lookup(input, context);
                Assert.Equal(reference.Lookup(input, context), entry);
                trace.Add(entry);
                if (entry >= 0)
                {
                    Assert.Equal(reference.OutputOf(entry, input), tlb.OutputOf(entry, input));
                    Assert.Equal(reference.Info[entry] & 0x3F, (byte)tlb.RightsOf(entry));
                    trace.Add((long)tlb.OutputOf(entry, input));
                }
            }
            else
            {
                int removed;
                ulong first = input & ~0xFFFUL;
                ulong pages = rng.Next(3) switch
                {
                    0 => 1,
                    1 => (ulong)rng.Next(1, tlb.Sets + 2),          // around the probe/sweep boundary
                    _ => (ulong)rng.NextInt64(1, 1L << 22),        // up to 16 GiB: the sweep
                };
                ulong last = Math.Min(first + pages * 0x1000 - 1, first >= 0xFFFF_0000_0000_0000 ? ulong.MaxValue : (1UL << 48) - 1);
                bool anyVmid = rng.Next(3) == 0;
                if (op < 87)
                {
                    removed = tlb.InvalidateAll();
                    Assert.Equal(reference.InvalidateAll(), removed);
                    Assert.Equal(0u, tlb.SizeClassesPresent);
                }
                else if (op < 90)
                {
                    if (asid == TlbLayout.NoAsid)
                        continue;
                    removed = tlb.InvalidateAsid(asid);
                    Assert.Equal(reference.InvalidateAsid(asid), removed);
                }
                else if (op < 94)
                {
                    ushort target = stage2 ? TlbLayout.NoAsid : asid;   // NoAsid: the global entries only
                    removed = tlb.InvalidateVa(target, first, last, vmid, anyVmid);
                    Assert.Equal(reference.InvalidateVa(target, first, last, vmid, anyVmid), removed);
                }
                else if (op < 96)
                {
                    removed = tlb.InvalidateVaAllAsids(first, last, vmid, anyVmid);
                    Assert.Equal(reference.InvalidateVaAllAsids(first, last, vmid, anyVmid), removed);
                }
                else if (op < 98)
                {
                    bool stage1Only = rng.Next(2) == 0;
                    removed = tlb.InvalidateVmid(vmid, stage1Only);
                    Assert.Equal(reference.InvalidateVmid(vmid, stage1Only), removed);
                }
                else
                {
                    first &= (1UL << 48) - 1;
                    last = Math.Min(first + pages * 0x1000 - 1, (1UL << 48) - 1);
                    removed = tlb.InvalidateIpa(vmid, first, last);
                    Assert.Equal(reference.InvalidateIpa(vmid, first, last), removed);
                }
                Assert.Equal(validBefore - removed, tlb.ValidEntries());
                trace.Add(removed);
            }
            Assert.Equal(reference.ValidEntries(), tlb.ValidEntries());
            if (step % 97 == 0)
                Assert.Equal(reference.Image(), Image(tlb));
        }
        Assert.Equal(reference.Image(), Image(tlb));
        return trace;
    }

    [Theory]
    [MemberData(nameof(WidthsAndGeometries))]
    public void ReplacementTakesTheLowestInvalidWayElseRoundRobinPerSetAdvancingOnlyOnEvictions(SimdWidth width, int entries, int ways)
    {
        using var tlb = new TlbDriver(entries, ways, width);
        int sets = tlb.Sets;
        // Pages whose number is congruent to (set XOR ASID 7's salt) modulo Sets land in that set.
        ulong PageInSet(int set, int n) => ((ulong)n * (ulong)sets + ((ulong)set ^ (ReferenceTlb.Salt(7) & (ulong)(sets - 1)))) << 12;
        int n = 0;
        int FillSet(int set) => tlb.Fill(PageInSet(set, n++), 7, TlbDriver.Leaf4K(0x1000, 3, AccessRights.PrivRead));

        // An empty set fills its ways in order.
        for (int way = 0; way < ways; way++)
            Assert.Equal(way, FillSet(0));
        // Full: round-robin from way 0; the cursor advances once per eviction.
        for (int i = 0; i < ways + 3; i++)
            Assert.Equal(i % ways, FillSet(0));
        int cursor = 3 % ways;

        // Invalidate two ways (the last and way 1): they are refilled lowest first, without moving the cursor.
        int[] freed = new[] { ways - 1, 1 % ways }.Distinct().Order().ToArray();
        foreach (int way in freed)
        {
            ulong tag = tlb.EntryAt(way).Tag;
            Assert.Equal(1, tlb.InvalidateRange(7, tag, tag + 0x1000 - 1));
        }
        foreach (int way in freed)
            Assert.Equal(way, FillSet(0));
        Assert.Equal(cursor, FillSet(0));
        cursor = (cursor + 1) % ways;
        Assert.Equal(cursor, FillSet(0));
        cursor = (cursor + 1) % ways;
        Assert.Equal(ways, tlb.ValidEntries());

        // Each set has its own cursor: set 1 starts its evictions at way 0 whatever set 0's cursor is.
        if (sets > 1)
        {
            for (int way = 0; way < ways; way++)
                Assert.Equal(ways + way, FillSet(1));
            Assert.Equal(ways + 0, FillSet(1));
            Assert.Equal(cursor, FillSet(0));
            cursor = (cursor + 1) % ways;
        }

        // An invalidation of the whole ASID leaves the cursors alone too.
        tlb.InvalidateAsid(7);
        for (int way = 0; way < ways; way++)
            Assert.Equal(way, FillSet(0));
        Assert.Equal(cursor, FillSet(0));
    }

    [Theory]
    [MemberData(nameof(WidthsAndGeometries))]
    public void EachSizeClassIsCachedInTheSetOfItsOwnSize(SimdWidth width, int entries, int ways)
    {
        using var tlb = new TlbDriver(entries, ways, width);
        ulong iova = 0x12_3456_7000;
        uint classes = 0;
        foreach (int shift in new[] { 12, 14, 16, 21, 25, 29, 30 })
        {
            ulong output = 0xAB_C000_0000UL >> shift << shift;
            int entry = tlb.Fill(iova, 3, new WalkLeaf(output, 3, shift, AccessRights.PrivRead, false));
            int sizeClass = TlbLayout.SizeClassOf(shift);
            classes |= 1u << sizeClass;
            Assert.Equal(sizeClass, tlb.SizeClassOf(entry));
            Assert.Equal(tlb.SetOf(iova, 3, sizeClass), entry / ways);
            Assert.Equal((iova >> shift << shift) | (uint)sizeClass, tlb.EntryAt(entry).Tag);
            Assert.Equal(output | (iova & ((1UL << shift) - 1)), tlb.OutputOf(entry, iova));
            Assert.NotEqual(0u, tlb.SizeClassesPresent & (1u << sizeClass));
        }
        Assert.Equal(0x7Fu, classes);   // seven distinct classes
        Assert.Equal(classes, tlb.SizeClassesPresent);
        tlb.InvalidateAll();
        Assert.Equal(0u, tlb.SizeClassesPresent);
        Assert.Equal(-1, Lookup(tlb, iova, 3));
    }

    // ---------------------------------------------------------------- through SmmuInstance

    [Theory]
    [MemberData(nameof(Geometries))]
    public void TranslationScriptGivesIdenticalResultsAtEveryWidth(int entries, int ways)
    {
        var results = new Dictionary<SimdWidth, (List<ulong> Trace, Tlb.EntryImage[] Image, SmmuStats Stats)>();
        foreach (SimdWidth width in Widths)
            results[width] = RunInstanceScript(width, entries, ways);
        var scalar = results[SimdWidth.Scalar];
        Assert.True(scalar.Stats.TlbHits > 0 && scalar.Stats.TlbMisses > 0 && scalar.Stats.Faults > 0, "the script must hit, miss and fault");
        Assert.True(scalar.Stats.TlbEntriesInvalidated > 0);
        foreach (SimdWidth width in Widths)
        {
            Assert.Equal(scalar.Trace, results[width].Trace);
            Assert.Equal(scalar.Image, results[width].Image);
            Assert.Equal(scalar.Stats, results[width].Stats);
        }
    }

    /// <summary>
    /// Four domains (a base and three dynamics) with the same IOVA layout and different PAs; random
    /// switches, translations (single and batch, hits, misses, faults), unmaps/remaps and every
    /// invalidation. Every translated PA is checked against the layout.
    /// </summary>
    private static (List<ulong> Trace, Tlb.EntryImage[] Image, SmmuStats Stats) RunInstanceScript(SimdWidth width, int entries, int ways)
    {
        using var smmu = Create(c => c with { TlbEntries = (uint)entries, TlbWays = (uint)ways }, width);
        Assert.Equal(width, smmu.TlbWidth);
        var domains = new DomainHandle[4];
        domains[0] = smmu.AttachBase();
        for (int k = 1; k < domains.Length; k++)
            domains[k] = smmu.AttachDynamic(domains[0]);
        const ulong PageBase = 0x1_0000_0000, BlockBase = 0x2_0000_0000, GigaBase = 0x40_0000_0000;
        int pages = Math.Max(16, entries / 2);
        const int Blocks = 8;
        static ulong PaOf(int k, ulong offset) => 0x10_0000_0000UL * (ulong)(k + 1) + offset;
        // The layout: unmapped pages (index % 5 == 4) fault; read-only ones (index % 7 == 0) fault on writes.
        bool[,] unmapped = new bool[domains.Length, pages];
        for (int k = 0; k < domains.Length; k++)
        {
            for (int i = 0; i < pages; i++)
            {
                if (i % 5 == 4)
                {
                    unmapped[k, i] = true;
                    continue;
                }
                SmmuProt prot = i % 7 == 0 ? SmmuProt.Read : ReadWrite;
                Ok(smmu.Map(domains[k], PageBase + (ulong)i * 0x1000, PaOf(k, (ulong)i * 0x1000), 0x1000, prot));
            }
            Ok(smmu.Map(domains[k], BlockBase, PaOf(k, 0x1_0000_0000), Blocks * 0x20_0000UL, ReadWrite));
            Ok(smmu.Map(domains[k], GigaBase, PaOf(k, 0x4000_0000), 0x4000_0000, ReadWrite));
        }
        ulong ExpectedPa(int k, ulong iova, SmmuAccess access, out bool faults)
        {
            faults = false;
            if (iova >= GigaBase)
                return PaOf(k, 0x4000_0000 + (iova - GigaBase));
            if (iova >= BlockBase)
                return PaOf(k, 0x1_0000_0000 + (iova - BlockBase));
            int i = (int)((iova - PageBase) >> 12);
            faults = unmapped[k, i] || (i % 7 == 0 && (access & SmmuAccess.Write) != 0);
            return faults ? 0 : PaOf(k, iova - PageBase);
        }
        ulong RandomIova(Random r) => r.Next(10) switch
        {
            < 6 => PageBase + ((ulong)r.Next(pages) << 12) + (ulong)r.Next(0x1000),
            < 9 => BlockBase + (ulong)r.NextInt64(Blocks * 0x20_0000L),
            _ => GigaBase + (ulong)r.NextInt64(0x4000_0000L),
        };

        var rng = new Random(entries * 7 + ways);
        var trace = new List<ulong>();
        int active = 0;
        ulong[] batch = new ulong[16], outputs = new ulong[16];
        Ok(smmu.ResetStats());
        for (int step = 0; step < 4000; step++)
        {
            int op = rng.Next(100);
            if (op < 5)
            {
                active = rng.Next(domains.Length);
                Ok(smmu.SwitchDomain(domains[active]));
            }
            else if (op < 70)
            {
                ulong iova = RandomIova(rng);
                SmmuAccess access = rng.Next(4) == 0 ? SmmuAccess.Write : SmmuAccess.Read;
                ulong expected = ExpectedPa(active, iova, access, out bool faults);
                int rc = smmu.Translate(Sid, iova, access, out ulong pa);
                Assert.Equal(faults ? SmmuError.Fault : SmmuError.Ok, rc);
                Assert.Equal(expected, pa);
                if (faults)
                    Ok(smmu.ClearFault(0));
                trace.Add(pa);
            }
            else if (op < 80)
            {
                for (int i = 0; i < batch.Length; i++)
                    batch[i] = RandomIova(rng);
                Array.Clear(outputs);
                int rc = smmu.TranslateBatch(Sid, batch, outputs, SmmuAccess.Read, out int done);
                int firstFault = Array.FindIndex(batch, v => { ExpectedPa(active, v, SmmuAccess.Read, out bool f); return f; });
                Assert.Equal(firstFault < 0 ? batch.Length : firstFault, done);
                Assert.Equal(firstFault < 0 ? SmmuError.Ok : SmmuError.Fault, rc);
                for (int i = 0; i < done; i++)
                    Assert.Equal(ExpectedPa(active, batch[i], SmmuAccess.Read, out _), outputs[i]);
                if (rc != SmmuError.Ok)
                    Ok(smmu.ClearFault(0));
                trace.Add((ulong)done);
                trace.AddRange(outputs);
            }
            else if (op < 88)
            {
                // Unmap and remap one page of one domain: the unmap invalidates its ASID+VA.
                int k = rng.Next(domains.Length), i = rng.Next(pages);
                if (unmapped[k, i])
                    continue;
                ulong iova = PageBase + (ulong)i * 0x1000;
                Assert.Equal(0x1000L, smmu.Unmap(domains[k], iova, 0x1000));
                if (k == active)
                    Assert.Equal(SmmuError.Fault, smmu.Translate(Sid, iova, SmmuAccess.Read, out _));
                Ok(smmu.ClearFault(0));
                Ok(smmu.Map(domains[k], iova, PaOf(k, (ulong)i * 0x1000), 0x1000, i % 7 == 0 ? SmmuProt.Read : ReadWrite));
            }
            else if (op < 92)
            {
                Ok(smmu.TlbInvalidateAsid(smmu.AsidOf(domains[rng.Next(domains.Length)])));
            }
            else if (op < 96)
            {
                ulong iova = RandomIova(rng) & ~0xFFFUL;
                ulong size = (ulong)rng.Next(1, 300) << 12;
                Ok(smmu.TlbInvalidateVa(smmu.AsidOf(domains[rng.Next(domains.Length)]), iova, size));
            }
            else if (op < 99)
            {
                Ok(smmu.TlbInvalidateVaAll(RandomIova(rng) & ~0xFFFUL, (ulong)rng.Next(1, 300) << 12));
            }
            else
            {
                Ok(smmu.TlbInvalidateAll());
            }
            trace.Add((ulong)smmu.TlbForTests.ValidEntries());
        }
        return (trace, Image(smmu.TlbForTests), smmu.Stats);
    }

    [Theory]
    [MemberData(nameof(WidthsAndGeometries))]
    public void PagesBlocksAndGigabyteBlocksAreCachedSoOneMissServesTheWholeLeaf(SimdWidth width, int entries, int ways)
    {
        using var smmu = Create(c => c with { TlbEntries = (uint)entries, TlbWays = (uint)ways }, width);
        DomainHandle d = smmu.AttachBase();
        const ulong Page = 0x1000_0000, Block = 0x4000_0000, Giga = 0x80_0000_0000;
        Ok(smmu.Map(d, Page, 0x7_0000_0000, 0x1000, ReadWrite));
        Ok(smmu.Map(d, Block, 0x1_0020_0000, 0x20_0000, ReadWrite));
        Ok(smmu.Map(d, Giga, 0x2_4000_0000, 0x4000_0000, ReadWrite));
        var rng = new Random(42);

        // Phases one after the other: in a direct-mapped TLB the three leaves may share a set.
        (ulong Iova, ulong Pa, ulong Size, int Class)[] leaves = [(Page, 0x7_0000_0000, 0x1000, 0), (Block, 0x1_0020_0000, 0x20_0000, 3), (Giga, 0x2_4000_0000, 0x4000_0000, 6)];
        foreach (var (iova, pa, size, sizeClass) in leaves)
        {
            Ok(smmu.ResetStats());
            const int Touches = 512;
            for (int t = 0; t < Touches; t++)
            {
                // Spread over the whole leaf (every 4K page of a 2M block), with random offsets.
                ulong offset = (ulong)t * (size / Touches) + (ulong)rng.NextInt64((long)Math.Max(1, size / Touches));
                Assert.Equal(pa + offset, smmu.TranslateOk(iova + offset, t % 2 == 0 ? SmmuAccess.Read : SmmuAccess.Write));
            }
            SmmuStats stats = smmu.Stats;
            Assert.Equal(1UL, stats.TlbMisses);
            Assert.Equal(Touches - 1UL, stats.TlbHits);
            Assert.Equal(1UL, stats.Walks);
            int cached = Lookup(smmu.TlbForTests, iova, (ushort)smmu.AsidOf(d));
            Assert.True(cached >= 0);
            Assert.Equal(sizeClass, smmu.TlbForTests.SizeClassOf(cached));
        }
    }

    [Theory]
    [MemberData(nameof(WidthsAndGeometries))]
    public void BatchTranslationHitsBlocksAtEveryWidth(SimdWidth width, int entries, int ways)
    {
        using var smmu = Create(c => c with { TlbEntries = (uint)entries, TlbWays = (uint)ways }, width);
        DomainHandle d = smmu.AttachBase();
        Ok(smmu.Map(d, 0x4000_0000, 0x1_0000_0000, 0x20_0000, ReadWrite));
        ulong[] iovas = new ulong[256], pas = new ulong[256];
        for (int i = 0; i < iovas.Length; i++)
            iovas[i] = 0x4000_0000 + (ulong)i * 0x2000 + (ulong)i;
        Ok(smmu.ResetStats());
        Ok(smmu.TranslateBatch(Sid, iovas, pas, SmmuAccess.Read, out int done));
        Assert.Equal(iovas.Length, done);
        for (int i = 0; i < iovas.Length; i++)
            Assert.Equal(iovas[i] - 0x4000_0000 + 0x1_0000_0000, pas[i]);
        Assert.Equal(1UL, smmu.Stats.TlbMisses);
        Assert.Equal(255UL, smmu.Stats.TlbHits);
        Assert.Equal(256UL, smmu.Stats.Translations);
    }

    // ---------------------------------------------------------------- invalidation, exactly

    /// <summary>
    /// Two ASIDs (a base A and a dynamic B) with the same layout cached: 4 pages at <see cref="PageIova"/>
    /// (sets 0..3) and a 2 MiB block at <see cref="BlockIova"/> (the last set), so that nothing evicts.
    /// </summary>
    private sealed class TwoAsids : IDisposable
    {
        public const ulong PageIova = 0x1000_0000;
        public const int Pages = 4;
        public readonly ulong BlockIova;
        public readonly SmmuInstance Smmu;
        public readonly DomainHandle A, B;
        public readonly ushort AsidA, AsidB;

        public TwoAsids(SimdWidth width, int entries, int ways)
        {
            Smmu = Create(c => c with { TlbEntries = (uint)entries, TlbWays = (uint)ways }, width);
            int sets = entries / ways;
            BlockIova = (0x400UL + (ulong)sets - 1) << 21;   // 0x400 is a multiple of every Sets used here
            A = Smmu.AttachBase();
            B = Smmu.AttachDynamic(A);
            AsidA = (ushort)Smmu.AsidOf(A);
            AsidB = (ushort)Smmu.AsidOf(B);
            foreach (var (d, pa) in new[] { (A, 0x1_0000_0000UL), (B, 0x2_0000_0000UL) })
            {
                Ok(Smmu.Map(d, PageIova, pa, Pages * 0x1000, ReadWrite));
                Ok(Smmu.Map(d, BlockIova, pa + 0x4000_0000, 0x20_0000, ReadWrite));
                Ok(Smmu.SwitchDomain(d));
                for (int i = 0; i < Pages; i++)
                    Smmu.TranslateOk(PageIova + (ulong)i * 0x1000);
                Smmu.TranslateOk(BlockIova + 0x12345);
            }
            Assert.Equal(2 * (Pages + 1), Smmu.TlbForTests.ValidEntries());
            Ok(Smmu.ResetStats());
        }

        public void Dispose() => Smmu.Dispose();
    }

    /// <summary>
    /// Runs an invalidation and checks that it removed exactly the valid entries <paramref name="removes"/>
    /// selects (and left every other entry bit for bit as it was), that it removed
    /// <paramref name="expectedCount"/>, and that the stats count one operation and that many entries.
    /// </summary>
    private static void AssertInvalidates(SmmuInstance smmu, Func<int> invalidate, Func<Tlb.EntryImage, bool> removes, int expectedCount)
    {
        Tlb tlb = smmu.TlbForTests;
        Tlb.EntryImage[] before = Image(tlb);
        SmmuStats statsBefore = smmu.Stats;
        Ok(invalidate());
        Tlb.EntryImage[] after = Image(tlb);
        int removed = 0;
        for (int e = 0; e < before.Length; e++)
        {
            if (before[e].Asid != 0 && removes(before[e]))
            {
                removed++;
                Assert.Equal(before[e] with { Asid = 0 }, after[e]);
            }
            else
            {
                Assert.Equal(before[e], after[e]);
            }
        }
        Assert.Equal(expectedCount, removed);
        SmmuStats stats = smmu.Stats;
        Assert.Equal(statsBefore.TlbInvalidations + 1, stats.TlbInvalidations);
        Assert.Equal(statsBefore.TlbEntriesInvalidated + (ulong)removed, stats.TlbEntriesInvalidated);
        Assert.Equal(tlb.ValidEntries(), before.Count(i => i.Asid != 0) - removed);
    }

    private static bool Overlaps(Tlb.EntryImage entry, ulong first, ulong last)
    {
        int sizeClass = (int)(entry.Tag & TlbLayout.SizeClassMask);
        ulong start = entry.Tag & ~TlbLayout.SizeClassMask;
        ulong end = start + (1UL << TlbLayout.SizeClassShift(sizeClass)) - 1;
        return start <= last && end >= first;
    }

    [Theory]
    [MemberData(nameof(WidthsAndAssociativeGeometries))]
    public void InvalidateAllRemovesEveryEntry(SimdWidth width, int entries, int ways)
    {
        using var t = new TwoAsids(width, entries, ways);
        AssertInvalidates(t.Smmu, t.Smmu.TlbInvalidateAll, _ => true, 2 * (TwoAsids.Pages + 1));
        Assert.Equal(0, t.Smmu.TlbForTests.ValidEntries());
    }

    [Theory]
    [MemberData(nameof(WidthsAndAssociativeGeometries))]
    public void InvalidateAsidRemovesThatAsidOnly(SimdWidth width, int entries, int ways)
    {
        using var t = new TwoAsids(width, entries, ways);
        AssertInvalidates(t.Smmu, () => t.Smmu.TlbInvalidateAsid(t.AsidB), e => e.Asid == t.AsidB, TwoAsids.Pages + 1);
        // A's translations still hit; B's miss again.
        Ok(t.Smmu.SwitchDomain(t.A));
        t.Smmu.TranslateOk(TwoAsids.PageIova);
        Assert.Equal(0UL, t.Smmu.Stats.TlbMisses);
        Ok(t.Smmu.SwitchDomain(t.B));
        t.Smmu.TranslateOk(TwoAsids.PageIova);
        Assert.Equal(1UL, t.Smmu.Stats.TlbMisses);
        // An ASID nobody holds removes nothing, and ASID 0 (never handed out) removes nothing.
        AssertInvalidates(t.Smmu, () => t.Smmu.TlbInvalidateAsid(0x1234), _ => false, 0);
        AssertInvalidates(t.Smmu, () => t.Smmu.TlbInvalidateAsid(0), _ => false, 0);
        Fails(SmmuError.Invalid, t.Smmu.TlbInvalidateAsid(0x10000));
    }

    [Theory]
    [MemberData(nameof(WidthsAndAssociativeGeometries))]
    public void InvalidateVaOfOnePageRemovesThatAsidsPageOnly(SimdWidth width, int entries, int ways)
    {
        using var t = new TwoAsids(width, entries, ways);
        ulong page = TwoAsids.PageIova + 0x2000;
        AssertInvalidates(t.Smmu, () => t.Smmu.TlbInvalidateVa(t.AsidA, page, 0x1000),
                          e => e.Asid == t.AsidA && e.Tag == page, 1);
        // An unaligned start and a size that reaches one byte into the next page take both pages.
        AssertInvalidates(t.Smmu, () => t.Smmu.TlbInvalidateVa(t.AsidB, page + 0xFFF, 2),
                          e => e.Asid == t.AsidB && e.Tag is TwoAsids.PageIova + 0x2000 or TwoAsids.PageIova + 0x3000, 2);
        Fails(SmmuError.Invalid, t.Smmu.TlbInvalidateVa(t.AsidA, page, 0));
        Fails(SmmuError.Invalid, t.Smmu.TlbInvalidateVa(t.AsidA, ulong.MaxValue - 0xFFF, 0x2000));
    }

    [Theory]
    [MemberData(nameof(WidthsAndAssociativeGeometries))]
    public void InvalidateVaOfPartOfABlockRemovesTheWholeBlockEntry(SimdWidth width, int entries, int ways)
    {
        using var t = new TwoAsids(width, entries, ways);
        // One page in the middle of A's 2 MiB entry.
        AssertInvalidates(t.Smmu, () => t.Smmu.TlbInvalidateVa(t.AsidA, t.BlockIova + 0x10_0000, 0x1000),
                          e => e.Asid == t.AsidA && e.Tag == (t.BlockIova | 3), 1);
        // A range that overlaps only the first page of B's block (it starts before the block).
        AssertInvalidates(t.Smmu, () => t.Smmu.TlbInvalidateVa(t.AsidB, t.BlockIova - 0x3000, 0x4000),
                          e => e.Asid == t.AsidB && e.Tag == (t.BlockIova | 3), 1);
        // The translation walks again and gives the same PA.
        Ok(t.Smmu.SwitchDomain(t.A));
        Assert.Equal(0x1_4000_0000UL + 0x10_0123, t.Smmu.TranslateOk(t.BlockIova + 0x10_0123));
    }

    [Theory]
    [MemberData(nameof(WidthsAndAssociativeGeometries))]
    public void InvalidateVaOfASmallRangeProbesAndOfALargeRangeSweepsWithTheSameMeaning(SimdWidth width, int entries, int ways)
    {
        using var t = new TwoAsids(width, entries, ways);
        int sets = entries / ways;
        // Small: pages 1..2, fewer blocks than sets: probed set by set.
        ulong first = TwoAsids.PageIova + 0x1000, last = TwoAsids.PageIova + 0x2FFF;
        Assert.True(((last >> 12) - (first >> 12)) < (ulong)sets || sets == 1);
        AssertInvalidates(t.Smmu, () => t.Smmu.TlbInvalidateVa(t.AsidA, first, last - first + 1),
                          e => e.Asid == t.AsidA && Overlaps(e, first, last), 2);

        // Large: from page 3 to the block's first byte: far more pages and 2 MiB blocks than sets, so swept.
        first = TwoAsids.PageIova + 0x3000;
        last = t.BlockIova;
        Assert.True(((last >> 21) - (first >> 21)) >= (ulong)sets);
        AssertInvalidates(t.Smmu, () => t.Smmu.TlbInvalidateVa(t.AsidA, first, last - first + 1),
                          e => e.Asid == t.AsidA && Overlaps(e, first, last), 2);
        // B untouched throughout; A keeps page 0 only.
        Assert.Equal(TwoAsids.Pages + 1 + 1, t.Smmu.TlbForTests.ValidEntries());

        // The same large range for every ASID (TLBIVAA) removes B's pages 3 and block, not B's pages 0..2.
        AssertInvalidates(t.Smmu, () => t.Smmu.TlbInvalidateVaAll(first, last - first + 1),
                          e => Overlaps(e, first, last), 2);
    }

    [Theory]
    [MemberData(nameof(WidthsAndAssociativeGeometries))]
    public void InvalidateVaForAllAsidsRemovesThePageFromEveryAsidAndNothingElse(SimdWidth width, int entries, int ways)
    {
        using var t = new TwoAsids(width, entries, ways);
        ulong page = TwoAsids.PageIova + 0x1000;
        AssertInvalidates(t.Smmu, () => t.Smmu.TlbInvalidateVaAll(page, 0x1000), e => e.Tag == page, 2);
        AssertInvalidates(t.Smmu, () => t.Smmu.TlbInvalidateVaAll(t.BlockIova + 0x1F_F000, 0x1000), e => e.Tag == (t.BlockIova | 3), 2);
        AssertInvalidates(t.Smmu, () => t.Smmu.TlbInvalidateVaAll(0x8_0000_0000, 0x1000), _ => false, 0);
        Fails(SmmuError.Invalid, t.Smmu.TlbInvalidateVaAll(page, 0));
    }

    [Theory]
    [MemberData(nameof(WidthsAndAssociativeGeometries))]
    public void UnmapInvalidatesTheUnmappedRangeForItsOwnAsidOnly(SimdWidth width, int entries, int ways)
    {
        using var t = new TwoAsids(width, entries, ways);
        ulong page = TwoAsids.PageIova + 0x1000;
        AssertInvalidates(t.Smmu, () => (int)t.Smmu.Unmap(t.A, page, 0x1000) - 0x1000,
                          e => e.Asid == t.AsidA && e.Tag == page, 1);
        // Splitting A's block by unmapping one page removes A's 2 MiB entry, not B's.
        AssertInvalidates(t.Smmu, () => (int)t.Smmu.Unmap(t.A, t.BlockIova + 0x5000, 0x1000) - 0x1000,
                          e => e.Asid == t.AsidA && e.Tag == (t.BlockIova | 3), 1);
        Ok(t.Smmu.SwitchDomain(t.A));
        Assert.Equal(SmmuError.Fault, t.Smmu.Translate(Sid, page, SmmuAccess.Read, out _));
        Assert.Equal(SmmuError.Fault, t.Smmu.Translate(Sid, t.BlockIova + 0x5000, SmmuAccess.Read, out _));
        Assert.Equal(0x1_4000_6000UL, t.Smmu.TranslateOk(t.BlockIova + 0x6000));
        Ok(t.Smmu.SwitchDomain(t.B));
        Assert.Equal(0x2_0000_1000UL, t.Smmu.TranslateOk(page));
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>What an instance's TLB holds for (iova, asid), looked up with the reference kernel (every kernel agrees: see above).</summary>
    internal static int Lookup(Tlb tlb, ulong iova, ushort asid) => tlb.Lookup<ScalarKernel>(iova, new TlbContext(asid, 0, false));

    internal static Tlb.EntryImage[] Image(Tlb tlb)
    {
        var image = new Tlb.EntryImage[tlb.Entries];
        for (int e = 0; e < image.Length; e++)
            image[e] = tlb.EntryAt(e);
        return image;
    }

    /// <summary>
    /// The policy Tlb.cs and TlbLayout.cs document, way by way with plain arrays and the entry's input, VMID
    /// and kind kept apart (not packed in a tag): an entry of class c for ASID a lives in set
    /// ((input &gt;&gt; shift(c)) XOR salt(a)) mod Sets, salt(a) = (a * 0x9E3779B1 mod 2^32) &gt;&gt; 16; an entry
    /// without an ASID (global, or stage-2 input) has ASID 0xFFFF and salt 0. Lookups probe the classes filled
    /// since the last full invalidation smallest first, in each the ASID's set, then (if such entries were
    /// filled in that class) the unsalted set for one without an ASID; ways lowest first; a fill takes the
    /// lowest empty way, else the set's round-robin cursor, which advances only on evictions; invalidation
    /// zeroes the ASID only. TLBIASID spares entries without an ASID; TLBIVA takes the ASID's and the
    /// global ones; TLBIVAA takes every stage-1 entry; TLBIVMALL a VMID's; TLBIIPAS2 a VMID's stage-2 ones.
    /// </summary>
    private sealed class ReferenceTlb(int entries, int ways)
    {
        private static readonly int[] Shifts = [12, 14, 16, 21, 25, 29, 30];
        private const ushort NoAsid = 0xFFFF;
        private readonly int _sets = entries / ways;
        private readonly ulong[] _inputs = new ulong[entries];     // aligned input address
        private readonly int[] _classes = new int[entries];
        private readonly ushort[] _vmids = new ushort[entries];
        private readonly bool[] _stage2 = new bool[entries];
        private readonly ushort[] _asids = new ushort[entries];
        private readonly ulong[] _outputs = new ulong[entries];
        private readonly int[] _cursor = new int[entries / ways];
        private uint _present, _presentNoAsid;

        public readonly byte[] Info = new byte[entries];

        public static ulong Salt(ushort asid) => asid == NoAsid ? 0 : (uint)asid * 0x9E3779B1u >> 16;

        public int Fill(ulong input, TlbContext context, ulong output, int shift, int level, byte rights, bool global)
        {
            int sizeClass = Array.IndexOf(Shifts, shift);
            bool noAsid = global || context.Asid == NoAsid;
            ushort asid = noAsid ? NoAsid : context.Asid;
            int set = (int)(((input >> shift) ^ Salt(asid)) % (ulong)_sets);
            int way = Enumerable.Range(0, ways).FirstOrDefault(w => _asids[set * ways + w] == 0, -1);
            if (way < 0)
            {
                way = _cursor[set];
                _cursor[set] = (way + 1) % ways;
            }
            int e = set * ways + way;
            _inputs[e] = input >> shift << shift;
            _classes[e] = sizeClass;
            _vmids[e] = context.Vmid;
            _stage2[e] = (context.TagBase & TlbLayout.Stage2InputFlag) != 0;
            _asids[e] = asid;
            _outputs[e] = output;
            Info[e] = (byte)(rights | level << 6);
            _present |= 1u << sizeClass;
            if (noAsid)
                _presentNoAsid |= 1u << sizeClass;
            return e;
        }

        public int Lookup(ulong input, TlbContext context)
        {
            bool stage2 = (context.TagBase & TlbLayout.Stage2InputFlag) != 0;
            for (int sizeClass = 0; sizeClass < Shifts.Length; sizeClass++)
            {
                if ((_present & (1u << sizeClass)) == 0)
                    continue;
                int found = Probe(input, context.Asid, context.Vmid, stage2, sizeClass);
                if (found < 0 && (_presentNoAsid & (1u << sizeClass)) != 0 && context.Asid != NoAsid)
                    found = Probe(input, NoAsid, context.Vmid, stage2, sizeClass);
                if (found >= 0)
                    return found;
            }
            return -1;
        }

        private int Probe(ulong input, ushort asid, ushort vmid, bool stage2, int sizeClass)
        {
            int shift = Shifts[sizeClass];
            int set = (int)(((input >> shift) ^ Salt(asid)) % (ulong)_sets);
            for (int w = 0; w < ways; w++)
            {
                int e = set * ways + w;
                if (_asids[e] == asid && _classes[e] == sizeClass && _inputs[e] == input >> shift << shift && _vmids[e] == vmid && _stage2[e] == stage2)
                    return e;
            }
            return -1;
        }

        public ulong OutputOf(int e, ulong input) => _outputs[e] | (input & ((1UL << Shifts[_classes[e]]) - 1));

        public int InvalidateAll()
        {
            _present = _presentNoAsid = 0;
            return Remove(_ => true);
        }

        public int InvalidateAsid(ushort asid) => Remove(e => _asids[e] == asid);

        public int InvalidateVa(ushort asid, ulong first, ulong last, ushort vmid, bool anyVmid) =>
            Remove(e => !_stage2[e] && (_asids[e] == asid || _asids[e] == NoAsid) && (anyVmid || _vmids[e] == vmid) && Overlaps(e, first, last));

        public int InvalidateVaAllAsids(ulong first, ulong last, ushort vmid, bool anyVmid) =>
            Remove(e => !_stage2[e] && (anyVmid || _vmids[e] == vmid) && Overlaps(e, first, last));

        public int InvalidateVmid(ushort vmid, bool stage1Only) => Remove(e => _vmids[e] == vmid && !(stage1Only && _stage2[e]));

        public int InvalidateIpa(ushort vmid, ulong first, ulong last) => Remove(e => _stage2[e] && _vmids[e] == vmid && Overlaps(e, first, last));

        private bool Overlaps(int e, ulong first, ulong last) => _inputs[e] <= last && _inputs[e] + (1UL << Shifts[_classes[e]]) - 1 >= first;

        public int ValidEntries() => _asids.Count(a => a != 0);

        /// <summary>The columns as the TLB packs them: tag = (aligned input XOR VMID &lt;&lt; 48) | stage-2 flag | class.</summary>
        public Tlb.EntryImage[] Image() => Enumerable.Range(0, entries)
            .Select(e => _asids[e] == 0 && _inputs[e] == 0 && _outputs[e] == 0
                ? new Tlb.EntryImage(0, 0, 0, 0)
                : new Tlb.EntryImage((_inputs[e] ^ (ulong)_vmids[e] << 48) | (_stage2[e] ? 0x10UL : 0) | (uint)_classes[e], _asids[e], _outputs[e], Info[e]))
            .ToArray();

        private int Remove(Func<int, bool> selects)
        {
            int removed = 0;
            for (int e = 0; e < entries; e++)
            {
                if (_asids[e] != 0 && selects(e))
                {
                    _asids[e] = 0;
                    removed++;
                }
            }
            return removed;
        }
    }
}
