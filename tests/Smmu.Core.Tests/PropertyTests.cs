using System.Globalization;
using Smmu.Core;
using Xunit.Abstractions;
using static Smmu.Core.Tests.TestSmmu;

namespace Smmu.Core.Tests;

/// <summary>
/// The whole model against a trivially correct reference over long random runs: a dictionary from
/// (domain, 4 KiB page) to (PA, prot). Random maps (pages, 2 MiB and 1 GiB blocks), unmaps (partial
/// blocks, holes), switches between a base and three dynamic domains, detach/re-attach, explicit TLB
/// maintenance and translations (single and batch, every access kind) are applied to both; every result
/// code, PA, unmap byte count and fault type must agree, and every few thousand operations the tables
/// themselves are compared page by page and counted against the pool.
/// <para>Operation count: <c>SMMU_PROPERTY_OPS</c> (total over all runs, default 120 000), e.g.
/// <c>SMMU_PROPERTY_OPS=5000000 dotnet test --filter PropertyTests</c> for a soak. Seed:
/// <c>SMMU_PROPERTY_SEED</c> (default fixed); a failure prints the seed and the operations leading to it.</para>
/// </summary>
public class PropertyTests(ITestOutputHelper output)
{
    private const int DefaultTotalOps = 120_000;
    private const int DefaultSeed = 0x5EED;
    private const int RunCount = 6;   // the InlineData rows below

    /// <summary>
    /// One run per TLB kernel width (forced, so every width runs whatever the CPU), small TLBs so that
    /// evictions happen, one run in the flush-on-switch mode, and one with a large TLB, 8-bit ASIDs and
    /// frequent detach/re-attach (<paramref name="churn"/> per mille of operations), so that ASIDs are
    /// reused while their previous owner's entries could still be cached.
    /// </summary>
    [Theory]
    [InlineData(0, SimdWidth.Scalar, 64u, 4u, 8u, SmmuConfigFlags.None, 25)]
    [InlineData(1, SimdWidth.Vector128, 64u, 4u, 16u, SmmuConfigFlags.None, 25)]
    [InlineData(2, SimdWidth.Vector256, 1024u, 8u, 16u, SmmuConfigFlags.None, 25)]
    [InlineData(3, SimdWidth.Vector512, 64u, 16u, 8u, SmmuConfigFlags.None, 25)]
    [InlineData(4, SimdWidth.Vector128, 16u, 16u, 8u, SmmuConfigFlags.NoAsidTagging, 25)]
    [InlineData(5, SimdWidth.Vector256, 1024u, 8u, 8u, SmmuConfigFlags.None, 200)]
    public void ModelAgreesWithAPerPageReference(int run, SimdWidth width, uint tlbEntries, uint tlbWays, uint asidBits,
                                                 SmmuConfigFlags flags, int churn)
    {
        int totalOps = Math.Max(DefaultTotalOps, EnvInt("SMMU_PROPERTY_OPS") ?? 0);
        int seed = (EnvInt("SMMU_PROPERTY_SEED") ?? DefaultSeed) + run;
        int ops = totalOps / RunCount;
        output.WriteLine($"run {run}: seed {seed} (SMMU_PROPERTY_SEED={seed - run}), {ops} operations, {width}, "
                         + $"TLB {tlbEntries}x{tlbWays}, {asidBits}-bit ASIDs, {flags}");

        using var smmu = Create(c => c with { TlbEntries = tlbEntries, TlbWays = tlbWays, AsidBits = asidBits, Flags = flags }, width);
        var model = new ModelRun(smmu, seed, churn);
        model.Run(ops);

        foreach (var (what, count) in model.Counts.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            output.WriteLine($"  {what,-28} {count,8}");
        output.WriteLine($"  pages mapped per domain at the end: {model.MappedPages}");
        SmmuStats stats = smmu.Stats;
        output.WriteLine($"  TLB hits {stats.TlbHits}, misses {stats.TlbMisses}, entries invalidated {stats.TlbEntriesInvalidated}");

        // The run must have gone everywhere it is meant to, or agreeing proves little.
        foreach (string needed in new[]
                 {
                     "map ok", "map exists", "map 1G ok", "map 2M-aligned ok", "unmap some", "unmap nothing",
                     "translate ok", "translate fault Translation", "translate fault Permission",
                     "translate beyond ias", "batch ok", "batch stopped", "switch ok", "switch to detached",
                     "detach", "re-attach", "invalidate",
                 })
        {
            Assert.True(model.Counts.GetValueOrDefault(needed) > 0, $"the run never did '{needed}'");
        }
        if (churn >= 100)
            Assert.True(model.Counts.GetValueOrDefault("re-attach with a reused ASID") > 0, "the churn run never reused an ASID");
        Assert.True(stats.TlbHits > (ulong)ops / 20, $"too few TLB hits: {stats.TlbHits}");
        Assert.True(stats.TlbMisses > tlbEntries * 4, $"too few TLB misses to evict: {stats.TlbMisses}");
    }

    private static int? EnvInt(string name) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out int value)
            ? value : null;

    /// <summary>One random run: the instance, the reference, and the generator.</summary>
    private sealed class ModelRun
    {
        private const ulong PageSize = 4096, TwoMiB = 1UL << 21, OneGiB = 1UL << 30;
        // Where maps and translations concentrate: a 16 MiB window (4096 pages, eight 2 MiB slots) ...
        private const ulong SmallBase = 0x1000_0000, SmallSpan = 16UL << 20;
        // ... and the 1 GiB slot at 1 GiB with a little beyond it, for 1 GiB blocks and their splits.
        private const ulong GiBBase = OneGiB, GiBSpan = OneGiB + 4 * TwoMiB;
        private const int Domains = 4;   // 0 is the base domain, 1..3 dynamic

        private static readonly SmmuAccess[] Kinds =
        {
            SmmuAccess.Read, SmmuAccess.Write, SmmuAccess.Exec,
            SmmuAccess.Read | SmmuAccess.Write, SmmuAccess.Read | SmmuAccess.Exec, SmmuAccess.All & ~SmmuAccess.Priv,
        };

        private readonly SmmuInstance _smmu;
        private readonly Random _rng;
        private readonly int _seed;
        private readonly ulong _inputLimit;
        private readonly DomainHandle[] _domains = new DomainHandle[Domains];
        private readonly bool[] _attached = new bool[Domains];
        private readonly ulong[] _roots = new ulong[Domains];
        private readonly uint _bank;
        private readonly int _churn;
        private readonly uint[] _lastAsid = new uint[Domains];
        private int _active;
        /// <summary>The reference: (domain, 4 KiB page) → (PA, prot), one entry per page; see <see cref="Key"/>.</summary>
        private readonly Dictionary<ulong, (ulong Pa, SmmuProt Prot)> _reference = new();
        private readonly ulong[][] _recent = new ulong[Domains][];   // per domain: IOVAs that translated lately
        private readonly string[] _log = new string[32];
        private long _op;
        private readonly ulong[] _batchIovas = new ulong[16];
        private readonly ulong[] _batchPas = new ulong[16];

        public Dictionary<string, int> Counts { get; } = new();

        /// <summary>How full each domain's windows are (for tuning the generator).</summary>
        public string MappedPages => string.Join(", ", Enumerable.Range(0, Domains).Select(d =>
            $"d{d} {_reference.Keys.Count(k => k == Key(d, k) && (k & ~(PageSize - 1)) - SmallBase < SmallSpan)}"
            + $"+{_reference.Keys.Count(k => k == Key(d, k) && (k & ~(PageSize - 1)) - GiBBase < GiBSpan)}"));

        public ModelRun(SmmuInstance smmu, int seed, int churn)
        {
            _churn = churn;
            _smmu = smmu;
            _seed = seed;
            _rng = new Random(seed);
            _inputLimit = 1UL << (int)smmu.Config.Ias;
            _domains[0] = smmu.AttachBase();
            for (int d = 1; d < Domains; d++)
                _domains[d] = smmu.AttachDynamic(_domains[0]);
            for (int d = 0; d < Domains; d++)
            {
                _attached[d] = true;
                _roots[d] = Tables.Root(smmu, _domains[d]);
            }
            Ok(smmu.GetContextBank(_domains[0], out _bank));
            _active = 0;
            for (int d = 0; d < Domains; d++)
            {
                _recent[d] = new ulong[16];
                for (int i = 0; i < _recent[d].Length; i++)
                    _recent[d][i] = SmallBase + (ulong)i * PageSize;
            }
        }

        /// <summary>
        /// Runs <paramref name="operations"/> random operations. The mix, per mille: translate ~600 (50 of them
        /// batches), map 150 pages / 40 2 MiB-aligned / 3 1 GiB, unmap 77 ranges / 8 2 MiB slots / 1 the whole
        /// 1 GiB slot, switch 31, explicit invalidation 40; detach/re-attach takes <c>churn</c> per mille on top.
        /// Tuned (see the counts each run prints) so that hits, misses, evictions, EEXIST, splits and every
        /// fault kind all happen often.
        /// </summary>
        public void Run(int operations)
        {
            for (_op = 0; _op < operations; _op++)
            {
                int r = _rng.Next(1000);
                if (_rng.Next(1000) < _churn) DetachOrReattach();
                else if (r < 480) Translate();
                else if (r < 530) TranslateBatch();
                else if (r < 680) MapPages();
                else if (r < 720) MapTwoMiB();
                else if (r < 723) MapOneGiB();
                else if (r < 800) UnmapRange();
                else if (r < 808) UnmapTwoMiB();
                else if (r < 809) UnmapGiBWindow();
                else if (r < 840) Switch();
                else if (r < 880) Invalidate();
                else Translate();
                if (_op % 4096 == 4095)
                    CheckTables();
            }
            CheckTables();
        }

        // ---- operations -------------------------------------------------------------------------

        private void Translate()
        {
            ulong iova = PickIova(recent: 50);
            SmmuAccess access = PickAccess();
            Note($"translate {iova:X} {access} (active {_active})");
            var (rc, pa, fault) = Expect(iova, access);
            int got = _smmu.Translate(Sid, iova, access, out ulong gotPa);
            Check(got == rc, () => $"translate {iova:X} {access}: expected {Describe(rc)} {fault}, got {Describe(got)} (pa {gotPa:X})");
            if (rc == SmmuError.Ok)
            {
                Check(gotPa == pa, () => $"translate {iova:X} {access}: expected pa {pa:X}, got {gotPa:X}");
                _recent[_active][_rng.Next(_recent[_active].Length)] = iova;   // come back to it: TLB hits
                Count("translate ok");
            }
            else
            {
                CheckFault(iova, access, fault);
                Count(iova >= _inputLimit ? "translate beyond ias" : $"translate fault {fault}");
            }
        }

        private void TranslateBatch()
        {
            int count = 1 + _rng.Next(_batchIovas.Length);
            SmmuAccess access = PickAccess();
            for (int i = 0; i < count; i++)
                _batchIovas[i] = PickIova(recent: 85);
            Note($"batch [{string.Join(' ', _batchIovas.Take(count).Select(v => v.ToString("X", CultureInfo.InvariantCulture)))}] {access} (active {_active})");
            Array.Clear(_batchPas);
            int rc = _smmu.TranslateBatch(Sid, _batchIovas.AsSpan(0, count), _batchPas.AsSpan(0, count), access, out int done);

            int expectedDone = count, expectedRc = SmmuError.Ok;
            FaultType expectedFault = FaultType.None;
            for (int i = 0; i < count; i++)
            {
                var (itemRc, pa, fault) = Expect(_batchIovas[i], access);
                if (itemRc != SmmuError.Ok)
                {
                    (expectedDone, expectedRc, expectedFault) = (i, itemRc, fault);
                    break;
                }
                Check(i < done, () => $"batch: stopped at {done}, but item {i} ({_batchIovas[i]:X}) should translate to {pa:X}");
                Check(_batchPas[i] == pa, () => $"batch item {i} ({_batchIovas[i]:X}): expected pa {pa:X}, got {_batchPas[i]:X}");
            }
            Check(done == expectedDone && rc == expectedRc,
                  () => $"batch: expected {expectedDone} done then {Describe(expectedRc)} {expectedFault}, got {done} done then {Describe(rc)}");
            if (rc != SmmuError.Ok)
            {
                CheckFault(_batchIovas[done], access, expectedFault);
                Count("batch stopped");
            }
            else
            {
                Count("batch ok");
            }
        }

        /// <summary>1..64 pages in the small window, any 4 KiB-aligned PA.</summary>
        private void MapPages()
        {
            int pages = 1 + _rng.Next(_rng.Next(2) == 0 ? 8 : 64);
            ulong iova = SmallBase + (ulong)_rng.Next((int)(SmallSpan / PageSize) - pages) * PageSize;
            Map(PickDomain(), iova, RandomPa(PageSize), (ulong)pages * PageSize, PickProt(), "map");
        }

        /// <summary>2 MiB-aligned ranges of one or two blocks, sometimes with pages after, sometimes a PA that forces pages.</summary>
        private void MapTwoMiB()
        {
            bool inGiBWindow = _rng.Next(3) == 0;
            ulong iova = inGiBWindow
                ? GiBBase + (ulong)_rng.Next((int)(GiBSpan / TwoMiB) - 2) * TwoMiB
                : SmallBase + (ulong)_rng.Next((int)(SmallSpan / TwoMiB) - 2) * TwoMiB;
            ulong size = TwoMiB * (ulong)(1 + _rng.Next(2)) + (_rng.Next(3) == 0 ? (ulong)_rng.Next(1, 9) * PageSize : 0);
            ulong pa = RandomPa(_rng.Next(4) == 0 ? PageSize : TwoMiB);
            Map(PickDomain(), iova, pa, size, PickProt(), "map 2M-aligned");
        }

        /// <summary>A 1 GiB block at 1 GiB, sometimes followed by a 2 MiB block and a page.</summary>
        private void MapOneGiB()
        {
            ulong size = OneGiB + (_rng.Next(2) == 0 ? TwoMiB + PageSize : 0);
            Map(PickDomain(), GiBBase, RandomPa(OneGiB), size, PickProt(), "map 1G");
        }

        private void Map(int d, ulong iova, ulong pa, ulong size, SmmuProt prot, string kind)
        {
            Note($"{kind} d{d} {iova:X}+{size:X} -> {pa:X} {prot}");
            bool overlap = false;
            for (ulong offset = 0; offset < size && !overlap; offset += PageSize)
                overlap = _reference.ContainsKey(Key(d, iova + offset));
            int expected = overlap ? SmmuError.Exists : SmmuError.Ok;
            int got = _smmu.Map(_domains[d], iova, pa, size, prot);
            Check(got == expected, () => $"map d{d} {iova:X}+{size:X}: expected {Describe(expected)}, got {Describe(got)}");
            if (got != SmmuError.Ok)
            {
                Count("map exists");
                return;
            }
            for (ulong offset = 0; offset < size; offset += PageSize)
                _reference[Key(d, iova + offset)] = (pa + offset, prot);
            _recent[d][_rng.Next(_recent[d].Length)] = iova + (ulong)_rng.NextInt64((long)size);   // translate it soon
            Count("map ok");
            Count($"{kind} ok");
        }

        /// <summary>A random range, 1 page to 512 KiB (log-uniform), mostly in the small window, sometimes inside the 1 GiB slot.</summary>
        private void UnmapRange()
        {
            ulong pages = (1UL << _rng.Next(8)) + (ulong)_rng.Next(4);
            ulong iova = _rng.Next(4) == 0
                ? GiBBase + (ulong)_rng.NextInt64((long)(GiBSpan / PageSize)) * PageSize
                : SmallBase + (ulong)_rng.NextInt64((long)(SmallSpan / PageSize)) * PageSize;
            Unmap(PickDomain(), iova, pages * PageSize);
        }

        private void UnmapTwoMiB()
        {
            ulong iova = SmallBase + (ulong)_rng.Next((int)(SmallSpan / TwoMiB)) * TwoMiB;
            Unmap(PickDomain(), iova, TwoMiB * (ulong)(1 + _rng.Next(3)));
        }

        private void UnmapGiBWindow() => Unmap(PickDomain(), GiBBase, GiBSpan);

        private void Unmap(int d, ulong iova, ulong size)
        {
            Note($"unmap d{d} {iova:X}+{size:X}");
            long expected = 0;
            for (ulong offset = 0; offset < size; offset += PageSize)
            {
                if (_reference.Remove(Key(d, iova + offset)))
                    expected += (long)PageSize;
            }
            long got = _smmu.Unmap(_domains[d], iova, size);
            Check(got == expected, () => $"unmap d{d} {iova:X}+{size:X}: expected {expected:X} bytes, got {got}");
            Count(expected > 0 ? "unmap some" : "unmap nothing");
        }

        private void Switch() => Switch(_rng.Next(Domains));

        private void Switch(int d)
        {
            Note($"switch d{d}");
            int got = _smmu.SwitchDomain(_domains[d]);
            if (_attached[d])
            {
                Check(got == SmmuError.Ok, () => $"switch d{d}: got {Describe(got)}");
                _active = d;
                Count("switch ok");
            }
            else
            {
                Check(got == SmmuError.NoDevice, () => $"switch to detached d{d}: expected NoDevice, got {Describe(got)}");
                Count("switch to detached");
            }
        }

        private void Invalidate()
        {
            int d = _rng.Next(Domains);
            uint asid = _attached[d] ? _smmu.AsidOf(_domains[d]) : (uint)_rng.Next(1, 255);
            ulong iova = PickIova(recent: 50) & ~(PageSize - 1);
            ulong size = PageSize << _rng.Next(12);
            int k = _rng.Next(100);
            int kind = k < 3 ? 0 : k < 30 ? 1 : k < 75 ? 2 : 3;   // invalidate-all rarely: it would hide stale entries
            Note(kind switch
            {
                0 => "invalidate all",
                1 => $"invalidate asid {asid}",
                2 => $"invalidate asid {asid} va {iova:X}+{size:X}",
                _ => $"invalidate va {iova:X}+{size:X} all asids",
            });
            int got = kind switch
            {
                0 => _smmu.TlbInvalidateAll(),
                1 => _smmu.TlbInvalidateAsid(asid),
                2 => _smmu.TlbInvalidateVa(asid, iova, size),
                _ => _smmu.TlbInvalidateVaAll(iova, size),
            };
            Check(got == SmmuError.Ok, () => $"invalidation: got {Describe(got)}");
            Count("invalidate");
        }

        /// <summary>Detaches an attached dynamic domain (the bank falls back to the base if it was active) or re-attaches a detached one.</summary>
        private void DetachOrReattach()
        {
            int d = 1 + _rng.Next(Domains - 1);
            if (_attached[d])
            {
                Note($"detach d{d}");
                Ok(_smmu.DetachDevice(_domains[d], Sid));
                _attached[d] = false;
                if (_active == d)
                    _active = 0;
                Count("detach");
            }
            else
            {
                Note($"re-attach d{d}");
                Ok(_smmu.AttachDevice(_domains[d], Sid));
                _attached[d] = true;
                Check(Tables.Root(_smmu, _domains[d]) == _roots[d], () => $"d{d}'s root moved across detach/re-attach");
                // SPEC §1: a freed ASID is invalidated before reuse. Stale entries would only show in a translation
                // by chance (the new owner must probe exactly those pages), so look at the TLB directly.
                uint asid = _smmu.AsidOf(_domains[d]);
                int stale = 0;
                for (int e = 0; e < _smmu.TlbForTests.Entries; e++)
                    stale += _smmu.TlbForTests.EntryAt(e).Asid == asid ? 1 : 0;
                Check(stale == 0, () => $"re-attached d{d} got ASID {asid}, which still has {stale} TLB entries");
                Count(asid < _lastAsid[d] ? "re-attach with a reused ASID" : "re-attach");
                _lastAsid[d] = asid;
                if (_rng.Next(2) == 0)
                    Switch(d);   // as a driver would: attach, then run the process
            }
        }

        // ---- the reference ----------------------------------------------------------------------

        /// <summary>The page's IOVA with the domain in the (always zero) page-offset bits: a plain ulong key hashes fast.</summary>
        private static ulong Key(int domain, ulong iova) => (iova & ~(PageSize - 1)) | (uint)domain;

        private (int Rc, ulong Pa, FaultType Fault) Expect(ulong iova, SmmuAccess access)
        {
            if (iova >= _inputLimit || !_reference.TryGetValue(Key(_active, iova), out var mapping))
                return (SmmuError.Fault, 0, FaultType.Translation);
            if (!Allowed(mapping.Prot, access))
                return (SmmuError.Fault, 0, FaultType.Permission);
            return (SmmuError.Ok, mapping.Pa + (iova & (PageSize - 1)), FaultType.None);
        }

        /// <summary>
        /// VMSAv8-64 stage-1 permissions of an io-pgtable-arm mapping, from the prot flags: every mapping is
        /// readable privileged; PRIV takes unprivileged data access away (AP[1] clear); WRITE gives write;
        /// NOEXEC forbids every fetch (UXN and PXN). An unprivileged fetch needs only UXN clear (AP[1] does
        /// not gate instruction fetch: EL0 execute-only), and a privileged fetch from memory that is
        /// writable unprivileged is refused (the architecture's implicit PXN).
        /// </summary>
        private static bool Allowed(SmmuProt prot, SmmuAccess access)
        {
            bool privileged = (access & SmmuAccess.Priv) != 0;
            bool unprivilegedData = (prot & SmmuProt.Priv) == 0;
            bool writable = (prot & SmmuProt.Write) != 0;
            if ((access & SmmuAccess.Read) != 0 && !privileged && !unprivilegedData)
                return false;
            if ((access & SmmuAccess.Write) != 0 && !(writable && (privileged || unprivilegedData)))
                return false;
            if ((access & SmmuAccess.Exec) != 0)
            {
                if ((prot & SmmuProt.NoExec) != 0)
                    return false;
                if (privileged && writable && unprivilegedData)
                    return false;
            }
            return true;
        }

        // ---- checks -----------------------------------------------------------------------------

        private void CheckFault(ulong iova, SmmuAccess access, FaultType expected)
        {
            Check(_smmu.GetFault(_bank, out SmmuFault fault) == SmmuError.Ok, () => "a faulted translation left no fault record");
            Check(fault.Type == expected, () => $"fault at {iova:X} {access}: expected {expected}, recorded {fault.Type} (level {fault.Level})");
            Check(fault.Iova == iova && fault.Access == access, () => $"fault record names {fault.Iova:X} {fault.Access}, not {iova:X} {access}");
            Check(fault.ActiveDomain == _domains[_active], () => $"fault record names {fault.ActiveDomain}, active is d{_active}");
            Ok(_smmu.ClearFault(_bank));
        }

        /// <summary>The tables themselves, without the TLB: every page of the small window, a sample of the 1 GiB slot, and the pool's accounting.</summary>
        private void CheckTables()
        {
            Note("check tables");
            int tables = 0;
            for (int d = 0; d < Domains; d++)
            {
                for (ulong iova = SmallBase; iova < SmallBase + SmallSpan; iova += PageSize)
                    CheckIovaToPhys(d, iova + 0x18);
                for (int i = 0; i < 256; i++)
                    CheckIovaToPhys(d, GiBBase + (ulong)_rng.NextInt64((long)GiBSpan));
                tables += Tables.CountTables(_smmu, _roots[d]);
            }
            SmmuStats stats = _smmu.Stats;
            Check(stats.PtPagesInUse + stats.PtPagesFree == _smmu.Config.PtPoolBytes / PageSize,
                  () => $"pages in use {stats.PtPagesInUse} + free {stats.PtPagesFree} is not the pool");
            Check(stats.PtPagesInUse == (ulong)tables, () => $"{stats.PtPagesInUse} pages in use, but the tables reachable from the roots are {tables}");
        }

        private void CheckIovaToPhys(int d, ulong iova)
        {
            int rc = _smmu.IovaToPhys(_domains[d], iova, out ulong pa);
            if (_reference.TryGetValue(Key(d, iova), out var mapping))
                Check(rc == SmmuError.Ok && pa == mapping.Pa + (iova & (PageSize - 1)),
                      () => $"iova_to_phys d{d} {iova:X}: expected {mapping.Pa + (iova & (PageSize - 1)):X}, got {Describe(rc)} {pa:X}");
            else
                Check(rc == SmmuError.NoEntry, () => $"iova_to_phys d{d} {iova:X}: expected NoEntry, got {Describe(rc)} {pa:X}");
        }

        /// <summary>Fails with the seed and the recent operations; the message is built only on failure.</summary>
        private void Check(bool condition, Func<string> message)
        {
            if (condition)
                return;
            var recent = new List<string>();
            for (long i = Math.Max(0, _op - _log.Length + 1); i <= _op; i++)
                recent.Add($"  #{i}: {_log[i % _log.Length]}");
            Assert.Fail($"seed {_seed}, operation #{_op}: {message()}\nlast operations:\n{string.Join('\n', recent)}");
        }

        // ---- the generator ----------------------------------------------------------------------

        /// <summary>
        /// <paramref name="recent"/> percent of the time a page that translated recently (so the TLB hits;
        /// a quarter of those from another domain, whose entries the active ASID must not see), otherwise
        /// mostly the small window, sometimes the 1 GiB slot, rarely anywhere or beyond 2^ias.
        /// </summary>
        private ulong PickIova(int recent)
        {
            if (_rng.Next(100) < recent)
            {
                ulong[] ring = _recent[_rng.Next(4) == 0 ? _rng.Next(Domains) : _active];
                return (ring[_rng.Next(ring.Length)] & ~(PageSize - 1)) | (uint)_rng.Next((int)PageSize);
            }
            return _rng.Next(100) switch
            {
                < 88 => SmallBase + (ulong)_rng.NextInt64((long)(SmallSpan + 16 * PageSize)),
                < 97 => GiBBase + (ulong)_rng.NextInt64((long)GiBSpan),
                < 99 => (ulong)_rng.NextInt64((long)_inputLimit),
                _ => _inputLimit + (ulong)_rng.NextInt64(long.MaxValue - (long)_inputLimit),
            };
        }

        private SmmuAccess PickAccess()
        {
            SmmuAccess access = Kinds[_rng.Next(Kinds.Length)];
            return _rng.Next(2) == 0 ? access | SmmuAccess.Priv : access;
        }

        private SmmuProt PickProt()
        {
            SmmuProt prot = _rng.Next(3) switch { 0 => SmmuProt.Read, 1 => SmmuProt.Write, _ => SmmuProt.Read | SmmuProt.Write };
            foreach (SmmuProt extra in new[] { SmmuProt.Cache, SmmuProt.NoExec, SmmuProt.Mmio, SmmuProt.Priv })
            {
                if (_rng.Next(10) < 3)
                    prot |= extra;
            }
            return prot;
        }

        /// <summary>Mostly the active domain (so its TLB entries matter), otherwise any.</summary>
        private int PickDomain() => _rng.Next(4) != 0 ? _active : _rng.Next(Domains);

        private ulong RandomPa(ulong alignment) => (ulong)_rng.NextInt64(1L << 40) & ~(alignment - 1);

        private void Note(string what) => _log[_op % _log.Length] = what;

        private void Count(string what) => Counts[what] = Counts.GetValueOrDefault(what) + 1;

        private static string Describe(int rc) => rc == SmmuError.Ok ? "Ok" : $"{rc} ({SmmuError.Describe(rc)})";
    }
}
