using Smmu.Bench.Fixtures;
using Smmu.Core;

namespace Smmu.Bench.Seed;

/// <summary>
/// The upstream Adreno layout (msm_iommu / adreno_smmu_priv: <c>set_ttbr0_cfg</c>,
/// <c>IO_PGTABLE_QUIRK_ARM_TTBR1</c>): the kernel's global buffers — ringbuffers, scratch, memstore — live
/// in TTBR1, and each GPU process's tables in TTBR0. Here the kernel's tables are a base domain with
/// SPLIT_TTBR1 and each process is a dynamic domain with its own ASID on the same context bank.
/// <para>Built once with the globals mapped <see cref="SmmuProt.Global"/> (nG = 0: one TLB entry serves
/// every ASID) and once without (TCR.A1 = 0: TTBR1's non-global entries carry the running process's ASID,
/// so every process caches — and misses — its own copy). The C twin is <c>tests/native/adreno_split.c</c>;
/// both draw the same workload from the same generator and print the same numbers.</para>
/// </summary>
internal sealed class AdrenoSplitScenario : IDisposable
{
    public const uint StreamId = 2;
    public const int Processes = 8;

    /// <summary>Four ringbuffers of 16 pages, in TTBR1 (the upper half: from 2^64 − 2^48 with ias 48).</summary>
    public const ulong RingIova = 0xFFFF_FFFF_0000_0000;
    public const int RingPages = 64;
    /// <summary>Memstore, scratch, setstate and the like, in TTBR1.</summary>
    public const ulong ScratchIova = 0xFFFF_FFFF_0010_0000;
    public const int ScratchPages = 32;
    public const int GlobalPages = RingPages + ScratchPages;
    /// <summary>One page off 2 MiB, so that every leaf is a 4 KiB page.</summary>
    public const ulong RingPa = 0x20_0000_1000;
    public const ulong ScratchPa = 0x20_0010_1000;

    /// <summary>Each process's buffers, in TTBR0, at the same IOVA in every process.</summary>
    public const ulong ProcessIova = 0x1_0000_0000;
    public const int ProcessPages = 64;

    /// <summary>Translations per job: every global page once, then the process's buffers.</summary>
    public const int SwitchEvery = 1024;
    /// <summary>Rounds of <see cref="Processes"/> switches measured after the first round.</summary>
    public const int SteadyRounds = 16;

    private const ulong PageSize = 4096;
    private const ulong Seed = 0x9E37_79B9_7F4A_7C15;
    private const SmmuProt ReadWrite = SmmuProt.Read | SmmuProt.Write;

    private readonly DomainHandle[] _processes = new DomainHandle[Processes];
    private readonly uint[] _processAsids = new uint[Processes];
    private readonly ulong[] _iovas = new ulong[SwitchEvery];
    private readonly ulong[] _pas = new ulong[SwitchEvery];

    /// <summary>What the split basics showed.</summary>
    /// <param name="Ttbr1">The bank's TTBR1 image (the base's root, the base's ASID in [63:48]).</param>
    /// <param name="Epd0Fault">A lower-half read with no process switched in.</param>
    /// <param name="NeitherHalfFault">A read of an IOVA whose bits [63:48] are neither all 0 nor all 1.</param>
    /// <param name="GlobalLeaf">The first ring page's level-3 descriptor, read from TTBR1's tables.</param>
    /// <param name="SwitchedTtbr0">TTBR0 after switching to process 0.</param>
    public readonly record struct SplitBasics(ulong Ttbr1, SmmuFault Epd0Fault, SmmuFault NeitherHalfFault, ulong GlobalLeaf, ulong SwitchedTtbr0);

    /// <summary>TLB misses of the workload.</summary>
    /// <param name="FirstRoundGlobalMisses">Misses on the global buffers in every process's first job, all together.</param>
    /// <param name="FirstRoundProcessMisses">Misses on the process buffers in the first round.</param>
    /// <param name="GlobalMissesPerSwitch">Steady state: misses on the global buffers per switch.</param>
    /// <param name="ProcessMissesPerSwitch">Steady state: misses on the process buffers per switch.</param>
    /// <param name="Invalidations">TLB maintenance operations during the whole workload.</param>
    public readonly record struct SwitchCost(ulong FirstRoundGlobalMisses, ulong FirstRoundProcessMisses, double GlobalMissesPerSwitch,
                                             double ProcessMissesPerSwitch, ulong Invalidations);

    /// <summary>Builds the split base domain with the globals, attaches it, then attaches the processes with their buffers mapped.</summary>
    public AdrenoSplitScenario(bool globalMappings)
    {
        GlobalMappings = globalMappings;
        Smmu = SmmuInstance.Create(SmmuConfig.Default);
        SmmuProt prot = ReadWrite | (globalMappings ? SmmuProt.Global : SmmuProt.None);
        Check.Ok(Smmu.DomainAlloc(out DomainHandle baseDomain), "alloc the base domain");
        Base = baseDomain;
        Check.Ok(Smmu.SetSplitTtbr1(Base, true), "SPLIT_TTBR1 = 1");
        Check.Ok(Smmu.Map(Base, RingIova, RingPa, RingPages * PageSize, prot), "map the ringbuffers in TTBR1");
        Check.Ok(Smmu.Map(Base, ScratchIova, ScratchPa, ScratchPages * PageSize, prot), "map the scratch buffers in TTBR1");
        Check.Ok(Smmu.AttachDevice(Base, StreamId), "attach the base domain");
        Check.Ok(Smmu.GetContextBank(Base, out uint bank), "read CONTEXT_BANK");
        ContextBank = bank;
        Check.Ok(Smmu.GetAsid(Base, out uint baseAsid), "read the base's ASID");
        BaseAsid = baseAsid;
        for (int p = 0; p < Processes; p++)
        {
            Check.Ok(Smmu.DomainAlloc(out DomainHandle process), "alloc a process domain");
            Check.Ok(Smmu.SetDynamic(process, true), "DYNAMIC = 1");
            Check.Ok(Smmu.SetContextBank(process, ContextBank), "CONTEXT_BANK from the base");
            Check.Ok(Smmu.SetProcId(process, 0x100 + (uint)p), "PROCID");
            Check.Ok(Smmu.Map(process, ProcessIova, ProcessPa(p), ProcessPages * PageSize, ReadWrite), "map the process's buffers in TTBR0");
            Check.Ok(Smmu.AttachDevice(process, StreamId), "attach the process");
            Check.Ok(Smmu.GetAsid(process, out _processAsids[p]), "read the process's ASID");
            _processes[p] = process;
        }
    }

    public bool GlobalMappings { get; }
    public SmmuInstance Smmu { get; }
    public DomainHandle Base { get; }
    public uint BaseAsid { get; }
    public uint ContextBank { get; }
    public IReadOnlyList<DomainHandle> ProcessDomains => _processes;

    /// <summary>Where process <paramref name="p"/>'s buffers live.</summary>
    public static ulong ProcessPa(int p) => 0x30_0000_1000 + (ulong)p * 0x1000_0000;

    /// <summary>The PA a global IOVA must translate to.</summary>
    public static ulong GlobalPa(ulong iova) => iova >= ScratchIova ? ScratchPa + (iova - ScratchIova) : RingPa + (iova - RingIova);

    /// <summary>
    /// TTBR1 holds the base's tables and TTBR0 stays disabled (EPD0) until a process is switched in; an
    /// IOVA in neither half faults at level 0; a switch changes TTBR0, the ASID and EPD0, never TTBR1;
    /// SMMU_ATTR_TTBR1 reads the bank's TTBR1; the global leaf's nG bit says whether it is global.
    /// </summary>
    public SplitBasics CheckSplitBasics()
    {
        var probe = new FaultProbe(Smmu, StreamId, ContextBank);
        Check.Ok(Smmu.SwitchDomain(Base), "switch to the base");
        Check.Ok(Smmu.GetContextBankState(ContextBank, out ContextBankState attached), "read the bank");
        Check.That(attached.Flags == (ContextBankState.FlagSplit | ContextBankState.FlagEpd0),
                   $"the base alone: flags 0x{attached.Flags:x}, expected SPLIT | EPD0 and the stage-1 regime");
        Check.That(attached.Ttbr0 == (ulong)BaseAsid << 48, $"the base alone: TTBR0 0x{attached.Ttbr0:x}: no table, the base's ASID");
        Check.That(attached.Ttbr1 >> 48 == BaseAsid, "TTBR1 carries the base's ASID in [63:48]");
        Check.Ok(Smmu.GetTtbr1(Base, out ulong ttbr1), "read SMMU_ATTR_TTBR1");
        Check.That(ttbr1 == attached.Ttbr1, $"SMMU_ATTR_TTBR1 0x{ttbr1:x} reads back the bank's TTBR1 0x{attached.Ttbr1:x}");
        Check.That(Smmu.GetTtbr0(Base, out _) == SmmuError.NoEntry, "a split base domain has no TTBR0 (ENOENT)");

        var asBase = new ExpectedFault(FaultType.Translation, 0, 1, false, 0, BaseAsid, Base);
        SmmuFault epd0 = probe.Expect(ProcessIova + 0x40, SmmuAccess.Read, asBase, "a lower-half read before any process runs (EPD0)");
        SmmuFault neither = probe.Expect(0x0001_0000_0000_0000, SmmuAccess.Read, asBase, "an IOVA in neither half");
        probe.Expect(0xFFFE_0000_0000_0000, SmmuAccess.Write, asBase, "an IOVA in neither half, below the upper one");
        Check.That(Translate(RingIova + 0x918, SmmuAccess.Read) == RingPa + 0x918, "the globals translate with no process switched in");
        Check.Ok(Smmu.IovaToPhys(Base, ScratchIova + 0x1FF8, out ulong softPa), "iova_to_phys in TTBR1");
        Check.That(softPa == ScratchPa + 0x1FF8, "iova_to_phys of the split base walks its TTBR1 half");
        Check.That(Smmu.IovaToPhys(_processes[0], RingIova, out _) == SmmuError.Range, "a process has no upper half");

        var leaf = new DescriptorWalk(Smmu, ttbr1 & DescriptorWalk.AddressMask, RingIova);
        Check.That(leaf.IsLeaf && leaf.LeafLevel == 3, "the first ring page is a level-3 page of TTBR1's tables");
        Check.That((leaf.Leaf & DescriptorWalk.AddressMask) == RingPa && (leaf.Leaf & DescriptorWalk.AccessFlag) != 0, "its output and AF");
        Check.That((leaf.Leaf & DescriptorWalk.NotGlobal) == 0 == GlobalMappings,
                   $"its nG bit (11) is {((leaf.Leaf & DescriptorWalk.NotGlobal) != 0 ? 1 : 0)}, GLOBAL {(GlobalMappings ? "set" : "not set")}");

        ulong switchedTtbr0 = 0;
        for (int p = 0; p < Processes; p++)
        {
            Check.Ok(Smmu.SwitchDomain(_processes[p]), "switch to a process");
            Check.Ok(Smmu.GetContextBankState(ContextBank, out ContextBankState cb), "read the bank");
            Check.Ok(Smmu.GetTtbr0(_processes[p], out ulong ttbr0), "read the process's TTBR0");
            Check.That(cb.Ttbr1 == attached.Ttbr1, $"switch to process {p}: TTBR1 unchanged");
            Check.That(cb.Flags == ContextBankState.FlagSplit, $"switch to process {p}: flags 0x{cb.Flags:x}, expected SPLIT (EPD0 cleared)");
            Check.That(cb.Ttbr0 == ttbr0 && cb.Asid == _processAsids[p] && cb.ActiveDomain == _processes[p] && cb.ContextIdr == 0x100 + (uint)p,
                       $"switch to process {p}: TTBR0, ASID, CONTEXTIDR are the process's");
            Check.Ok(Smmu.GetTtbr1(_processes[p], out ulong seen), "read SMMU_ATTR_TTBR1 of a process");
            Check.That(seen == attached.Ttbr1, "a process reads its bank's TTBR1");
            if (p == 0)
                switchedTtbr0 = cb.Ttbr0;
        }
        Check.That(Translate(ProcessIova + 0x5018, SmmuAccess.Write) == ProcessPa(Processes - 1) + 0x5018, "the active process's buffers translate");
        probe.Expect(0x0000_2000_0000_0000, SmmuAccess.Read,
                     new ExpectedFault(FaultType.Translation, 0, 1, false, 0, _processAsids[^1], _processes[^1]), "an empty root entry of TTBR0");
        Check.Ok(Smmu.SwitchDomain(Base), "switch back to the base");
        Check.Ok(Smmu.GetContextBankState(ContextBank, out ContextBankState back), "read the bank");
        Check.That(back.Flags == attached.Flags && back.Ttbr0 == attached.Ttbr0 && back.Ttbr1 == attached.Ttbr1, "back on the base: EPD0 again");
        probe.Expect(ProcessIova, SmmuAccess.Read, asBase, "a lower-half read after switching back to the base");
        return new SplitBasics(attached.Ttbr1, epd0, neither, leaf.Leaf, switchedTtbr0);
    }

    /// <summary>
    /// The workload: a round of every process's first job, then <see cref="SteadyRounds"/> rounds; each job
    /// reads every global page once, then the process's buffers (every page once, then random pages), and
    /// every PA is checked. Misses are counted apart for the global and the process buffers.
    /// </summary>
    public SwitchCost MeasureSwitching()
    {
        ulong rng = Seed;
        ulong firstGlobal = 0, firstProcess = 0, steadyGlobal = 0, steadyProcess = 0;
        Check.Ok(Smmu.TlbInvalidateAll(), "start cold");
        ulong invalidations = Smmu.Stats.TlbInvalidations;
        for (int round = 0; round <= SteadyRounds; round++)
        {
            for (int p = 0; p < Processes; p++)
            {
                (ulong global, ulong process) = Job(p, ref rng);
                if (round == 0)
                {
                    firstGlobal += global;
                    firstProcess += process;
                    Check.That(process == ProcessPages, $"process {p}'s first job misses each of its pages once, got {process}");
                }
                else
                {
                    steadyGlobal += global;
                    steadyProcess += process;
                }
            }
        }
        const double Switches = SteadyRounds * Processes;
        return new SwitchCost(firstGlobal, firstProcess, steadyGlobal / Switches, steadyProcess / Switches,
                              Smmu.Stats.TlbInvalidations - invalidations);
    }

    /// <summary>Unmapping a global page from the split base invalidates it under every ASID (TLBIVAA): no process hits a stale entry.</summary>
    public void CheckUnmapGlobal()
    {
        const ulong Victim = RingIova + 7 * PageSize;
        foreach (DomainHandle process in _processes)
        {
            Check.Ok(Smmu.SwitchDomain(process), "switch");
            Check.That(Translate(Victim, SmmuAccess.Read) == RingPa + 7 * PageSize, "every process caches ring page 7");
        }
        Check.That(Smmu.Unmap(Base, Victim, PageSize) == (long)PageSize, "unmap ring page 7");
        var probe = new FaultProbe(Smmu, StreamId, ContextBank);
        for (int p = 0; p < Processes; p++)
        {
            Check.Ok(Smmu.SwitchDomain(_processes[p]), "switch");
            probe.Expect(Victim + 0x10, SmmuAccess.Read, new ExpectedFault(FaultType.Translation, 3, 1, false, 0, _processAsids[p], _processes[p]),
                         $"process {p} after the unmap of a global page");
        }
        Check.Ok(Smmu.Map(Base, Victim, RingPa + 7 * PageSize, PageSize, ReadWrite | (GlobalMappings ? SmmuProt.Global : SmmuProt.None)), "map it again");
        Check.That(Translate(Victim, SmmuAccess.Read) == RingPa + 7 * PageSize, "remapped");
    }

    /// <summary>Detaches in the seed's order (the base's detach is EBUSY first); returns the table pages still in use (0).</summary>
    public ulong TearDown()
    {
        Check.That(Smmu.DetachDevice(Base, StreamId) == SmmuError.Busy, "the base's detach is EBUSY while processes are attached");
        Check.Ok(Smmu.SwitchDomain(_processes[^1]), "switch to the last process");
        for (int p = Processes - 1; p >= 0; p--)
        {
            Check.Ok(Smmu.DetachDevice(_processes[p], StreamId), "detach a process");
            Check.Ok(Smmu.DomainFree(_processes[p]), "free a process");
        }
        Check.Ok(Smmu.GetContextBankState(ContextBank, out ContextBankState cb), "read the bank");
        Check.That(cb.ActiveDomain == Base && cb.Flags == (ContextBankState.FlagSplit | ContextBankState.FlagEpd0),
                   "detaching the active process falls back to the base: EPD0");
        Check.That(Translate(RingIova, SmmuAccess.Read) == RingPa, "the globals outlive the processes");
        Check.Ok(Smmu.DetachDevice(Base, StreamId), "detach the base");
        Check.Ok(Smmu.DomainFree(Base), "free the base");
        return Smmu.Stats.PtPagesInUse;
    }

    public void Dispose() => Smmu.Dispose();

    /// <summary>Prints the scenario: the basics, then both modes' misses side by side.</summary>
    public static void Run(TextWriter output)
    {
        using var with = new AdrenoSplitScenario(globalMappings: true);
        using var without = new AdrenoSplitScenario(globalMappings: false);
        output.WriteLine($"Split base domain (SPLIT_TTBR1 = 1) with the kernel's globals in TTBR1: {RingPages} ringbuffer pages at");
        output.WriteLine($"0x{RingIova:x}, {ScratchPages} scratch pages at 0x{ScratchIova:x}; {Processes} processes (dynamic domains)");
        output.WriteLine($"with {ProcessPages} pages each at 0x{ProcessIova:x} in TTBR0. " +
                         $"{with.Smmu.Config.TlbEntries}-entry {with.Smmu.Config.TlbWays}-way TLB.");
        SplitBasics basics = with.CheckSplitBasics();
        SplitBasics basicsWithout = without.CheckSplitBasics();
        output.WriteLine($"  attach base -> context bank {with.ContextBank}, ASID {with.BaseAsid}: TTBR1 0x{basics.Ttbr1:x16} (= SMMU_ATTR_TTBR1), " +
                         "TTBR0 disabled (SPLIT | EPD0)");
        output.WriteLine($"  read 0x{ProcessIova + 0x40:x} before any process runs -> {FaultProbe.Describe(basics.Epd0Fault)}");
        output.WriteLine($"  read 0x{0x0001_0000_0000_0000UL:x} (in neither half)  -> {FaultProbe.Describe(basics.NeitherHalfFault)}");
        output.WriteLine($"  switch to process 0 -> TTBR0 0x{basics.SwitchedTtbr0:x16}, flags SPLIT; TTBR1 unchanged on every switch");
        output.WriteLine($"  ring page 0's leaf in TTBR1: 0x{basics.GlobalLeaf:x16} (nG = 0, GLOBAL); without GLOBAL 0x{basicsWithout.GlobalLeaf:x16}");
        output.WriteLine("      (nG = 1: TCR.A1 = 0, so the entry is tagged with the running process's ASID)");

        SwitchCost global = with.MeasureSwitching();
        SwitchCost tagged = without.MeasureSwitching();
        output.WriteLine($"  a switch every {SwitchEvery} translations: each job reads the {GlobalPages} global pages once, then " +
                         $"{SwitchEvery - GlobalPages} reads of the process's {ProcessPages} pages;");
        output.WriteLine($"  one round of first jobs, then {SteadyRounds} rounds ({SteadyRounds * Processes} switches), every PA checked:");
        output.WriteLine();
        output.WriteLine($"  {"",-44}{"GLOBAL",10}{"not GLOBAL",12}");
        output.WriteLine($"  {"first round: misses on the global buffers",-44}{global.FirstRoundGlobalMisses,10}{tagged.FirstRoundGlobalMisses,12}");
        output.WriteLine($"  {"misses per switch, global buffers",-44}{global.GlobalMissesPerSwitch,10:F2}{tagged.GlobalMissesPerSwitch,12:F2}");
        output.WriteLine($"  {"misses per switch, process buffers",-44}{global.ProcessMissesPerSwitch,10:F2}{tagged.ProcessMissesPerSwitch,12:F2}");
        output.WriteLine($"  {"TLB entries the working set needs",-44}{Processes * ProcessPages + GlobalPages,10}{Processes * (ProcessPages + GlobalPages),12}");
        output.WriteLine($"  {"TLB invalidations",-44}{global.Invalidations,10}{tagged.Invalidations,12}");
        output.WriteLine();
        CheckCosts(global, tagged);
        output.WriteLine("  GLOBAL: one entry per global page serves every process, so only the very first job misses them, and");
        output.WriteLine("  the ASID-tagged process buffers stay warm across switches. Without: each process misses every global");
        output.WriteLine("  page on its first job, and 8 copies of the globals overflow the TLB, so both kinds miss on every switch.");

        with.CheckUnmapGlobal();
        without.CheckUnmapGlobal();
        output.WriteLine($"  unmap a ring page -> each of the {Processes} processes faults on it at level 3 (TLBIVAA: no stale copy under any ASID)");
        ulong pages = with.TearDown() + without.TearDown();
        Check.That(pages == 0, $"{pages} table pages still in use after the teardown");
        output.WriteLine("  teardown: processes first (the base's detach is EBUSY before), the active one falls back to EPD0; table pages in use: 0");
    }

    /// <summary>The claims of the scenario about the two modes' misses.</summary>
    public static void CheckCosts(in SwitchCost global, in SwitchCost tagged)
    {
        Check.That(global.FirstRoundGlobalMisses == GlobalPages, $"GLOBAL: the first job misses the {GlobalPages} global pages, later jobs none");
        Check.That(global.GlobalMissesPerSwitch == 0, $"GLOBAL: {global.GlobalMissesPerSwitch} misses per switch on the global buffers, expected 0");
        Check.That(global.ProcessMissesPerSwitch == 0, $"GLOBAL: {global.ProcessMissesPerSwitch} misses per switch on the process buffers, expected 0");
        Check.That(tagged.FirstRoundGlobalMisses == (ulong)Processes * GlobalPages, "not GLOBAL: each process misses every global page on its first job");
        Check.That(tagged.GlobalMissesPerSwitch > 0, "not GLOBAL: the global buffers miss on switches");
        Check.That(global.Invalidations == 0 && tagged.Invalidations == 0, "switching invalidates nothing in either mode");
    }

    /// <summary>One job on process <paramref name="p"/>: its misses on the global and on the process buffers. The draws match adreno_split.c.</summary>
    private (ulong Global, ulong Process) Job(int p, ref ulong rng)
    {
        Check.Ok(Smmu.SwitchDomain(_processes[p]), "switch to the process");
        ulong start = Smmu.Stats.TlbMisses;
        for (int i = 0; i < GlobalPages; i++)
        {
            ulong page = i < RingPages ? RingIova + (ulong)i * PageSize : ScratchIova + (ulong)(i - RingPages) * PageSize;
            _iovas[i] = page + (XorShift64(ref rng) & 0xFF8);
        }
        TranslateJob(_iovas.AsSpan(0, GlobalPages), SmmuAccess.Read, iova => GlobalPa(iova));
        ulong afterGlobal = Smmu.Stats.TlbMisses;
        int reads = SwitchEvery - GlobalPages;
        for (int i = 0; i < reads; i++)
        {
            ulong r = XorShift64(ref rng);
            ulong page = i < ProcessPages ? (ulong)i : (r >> 12) % ProcessPages;
            _iovas[i] = ProcessIova + page * PageSize + (r & 0xFF8);
        }
        ulong processPa = ProcessPa(p);
        TranslateJob(_iovas.AsSpan(0, reads), SmmuAccess.Read | SmmuAccess.Write, iova => processPa + (iova - ProcessIova));
        return (afterGlobal - start, Smmu.Stats.TlbMisses - afterGlobal);
    }

    private void TranslateJob(ReadOnlySpan<ulong> iovas, SmmuAccess access, Func<ulong, ulong> expected)
    {
        Span<ulong> pas = _pas.AsSpan(0, iovas.Length);
        int rc = Smmu.TranslateBatch(StreamId, iovas, pas, access, out int done);
        Check.That(rc == SmmuError.Ok, $"a job's translations: {Check.Describe(rc)} after {done}");
        for (int i = 0; i < iovas.Length; i++)
            Check.That(pas[i] == expected(iovas[i]), $"0x{iovas[i]:x} -> 0x{pas[i]:x}, expected 0x{expected(iovas[i]):x}");
    }

    private ulong Translate(ulong iova, SmmuAccess access)
    {
        Check.Ok(Smmu.Translate(StreamId, iova, access, out ulong pa), $"translate 0x{iova:x}");
        return pa;
    }

    /// <summary>xorshift64 (Marsaglia), as tests/native/scenario.h: the C and C# workloads draw the same numbers.</summary>
    private static ulong XorShift64(ref ulong state)
    {
        ulong x = state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        state = x;
        return x;
    }
}
