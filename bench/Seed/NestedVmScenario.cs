using Smmu.Bench.Fixtures;
using Smmu.Core;

namespace Smmu.Bench.Seed;

/// <summary>
/// A VM whose GPU driver runs the seed's dynamic domains: a stage-2 domain is the VM's memory, the
/// guest's base domain names it as NEST_PARENT, and every guest translation goes IOVA → IPA → PA.
/// <para>The guest's tables are IPAs; the model keeps them equal to the table pool's PAs, so the hypervisor
/// maps the pool IPA = PA — page by page, as KVM faults guest memory in — and the guest's RAM at IPA
/// 0x8000_0000 to host PAs one page off 2 MiB (4 KiB leaves), plus one page read-only. The C twin is
/// <c>tests/native/nested_vm.c</c>.</para>
/// </summary>
internal sealed class NestedVmScenario : IDisposable
{
    public const uint StreamId = 4;
    public const int Processes = 4;
    public const int JobPages = 16;
    public const int WarmRounds = 32;

    public const ulong PoolBase = 0x4000_0000;
    public const ulong PoolBytes = 16UL << 20;
    /// <summary>The guest's RAM as the guest sees it, and where the host put it.</summary>
    public const ulong GuestRamIpa = 0x8000_0000;
    public const ulong GuestRamBytes = 2UL << 20;
    public const ulong HostRamPa = 0x20_0000_1000;
    /// <summary>A page the hypervisor shares read-only; the guest maps it read/write.</summary>
    public const ulong ReadOnlyIpa = 0x8020_0000;
    public const ulong ReadOnlyPa = 0x20_0040_1000;

    /// <summary>The seed's IOVAs, the same in every process.</summary>
    public const ulong JobIova = 0x1000_0000;
    /// <summary>Process 0 maps the read-only shared page here.</summary>
    public const ulong SharedIova = 0x2000_0000;

    private const ulong PageSize = 4096;
    private const SmmuProt ReadWrite = SmmuProt.Read | SmmuProt.Write;

    private readonly DomainHandle[] _processes = new DomainHandle[Processes];
    private readonly uint[] _processAsids = new uint[Processes];
    private readonly FaultProbe _probe;

    /// <summary>The VM's identity on its bank.</summary>
    /// <param name="Vmid">SMMU_ATTR_VMID of the stage-2 domain (= the bank's, = what the guest's domains read).</param>
    /// <param name="Vttbr">SMMU_ATTR_VTTBR: the stage-2 root with the VMID in [63:48].</param>
    /// <param name="Flags">cb_state flags: the regime (2, nested) in [5:4].</param>
    public readonly record struct VmIdentity(uint Vmid, ulong Vttbr, uint Flags);

    /// <summary>The seed's jobs under the VM.</summary>
    /// <param name="ColdMisses">Misses of the first job of the base and of every process (one per page).</param>
    /// <param name="DescriptorReadsPerMiss">smmu_stats.descriptor_reads per walk over the cold jobs.</param>
    /// <param name="WarmMissesPerSwitch">Misses per switch once every process's pages are cached.</param>
    /// <param name="WarmInvalidations">TLB maintenance operations during the warm switches (VMID-wide included).</param>
    /// <param name="WarmSwitches">Switches in the warm rounds.</param>
    public readonly record struct SeedUnderVm(ulong ColdMisses, double DescriptorReadsPerMiss, double WarmMissesPerSwitch, ulong WarmInvalidations, int WarmSwitches);

    /// <summary>Builds the VM: stage 2 with the pool, guest RAM and the read-only page; the guest's base nested under it and its processes.</summary>
    public NestedVmScenario()
    {
        SmmuConfig config = SmmuConfig.Default;
        config.PtPoolBase = PoolBase;
        config.PtPoolBytes = PoolBytes;
        Smmu = SmmuInstance.Create(config);

        Check.Ok(Smmu.DomainAlloc(out DomainHandle stage2), "alloc the stage-2 domain");
        Stage2 = stage2;
        Check.Ok(Smmu.SetStage(Stage2, 2), "STAGE = 2");
        Check.That(Smmu.GetVmid(Stage2, out _) == SmmuError.NoDevice, "no VMID before a user attaches");
        Check.That(Smmu.Map(Stage2, GuestRamIpa, HostRamPa, PageSize, ReadWrite | SmmuProt.Global) == SmmuError.Invalid,
                   "GLOBAL on a stage-2 mapping is EINVAL");
        BackPoolWithPages();
        Check.Ok(Smmu.Map(Stage2, GuestRamIpa, HostRamPa, GuestRamBytes, ReadWrite), "stage 2: guest RAM");
        Check.Ok(Smmu.Map(Stage2, ReadOnlyIpa, ReadOnlyPa, PageSize, SmmuProt.Read), "stage 2: the read-only page");

        Check.Ok(Smmu.DomainAlloc(out DomainHandle guestBase), "alloc the guest's base domain");
        GuestBase = guestBase;
        Check.Ok(Smmu.SetNestParent(GuestBase, Stage2), "NEST_PARENT = the stage-2 domain");
        Check.That(Smmu.DomainFree(Stage2) == SmmuError.Busy, "a stage-2 domain named as a parent cannot be freed");
        Check.Ok(Smmu.Map(GuestBase, JobIova, ProcessIpa(-1), JobPages * PageSize, ReadWrite), "the guest's base maps its buffer");
        Check.Ok(Smmu.AttachDevice(GuestBase, StreamId), "attach the guest's base domain");
        Check.Ok(Smmu.GetContextBank(GuestBase, out uint bank), "read CONTEXT_BANK");
        ContextBank = bank;
        Check.Ok(Smmu.GetAsid(GuestBase, out uint baseAsid), "read the guest base's ASID");
        BaseAsid = baseAsid;
        for (int p = 0; p < Processes; p++)
        {
            Check.Ok(Smmu.DomainAlloc(out DomainHandle process), "alloc a process domain");
            Check.Ok(Smmu.SetDynamic(process, true), "DYNAMIC = 1");
            Check.Ok(Smmu.SetContextBank(process, ContextBank), "CONTEXT_BANK from the guest's base");
            Check.Ok(Smmu.Map(process, JobIova, ProcessIpa(p), JobPages * PageSize, ReadWrite), "the process maps its buffer");
            Check.Ok(Smmu.AttachDevice(process, StreamId), "attach the process");
            Check.Ok(Smmu.GetAsid(process, out _processAsids[p]), "read the process's ASID");
            _processes[p] = process;
        }
        Check.Ok(Smmu.Map(_processes[0], SharedIova, ReadOnlyIpa, PageSize, ReadWrite), "process 0 maps the shared page read/write");
        _probe = new FaultProbe(Smmu, StreamId, ContextBank);
    }

    public SmmuInstance Smmu { get; }
    public DomainHandle Stage2 { get; }
    public DomainHandle GuestBase { get; }
    public uint BaseAsid { get; }
    public uint ContextBank { get; }
    public IReadOnlyList<DomainHandle> ProcessDomains => _processes;

    /// <summary>Process <paramref name="p"/>'s buffer in guest RAM (-1: the guest's base domain).</summary>
    public static ulong ProcessIpa(int p) => GuestRamIpa + (ulong)(p + 1) * JobPages * PageSize;

    /// <summary>Where the host put a guest-RAM IPA.</summary>
    public static ulong HostPa(ulong ipa) => HostRamPa + (ipa - GuestRamIpa);

    /// <summary>The VMID and VTTBR as the stage-2 domain, the guest's domains and the bank see them.</summary>
    public VmIdentity CheckVmid()
    {
        Check.Ok(Smmu.GetVmid(Stage2, out uint vmid), "read the VMID");
        Check.Ok(Smmu.GetVttbr(Stage2, out ulong vttbr), "read the VTTBR");
        Check.Ok(Smmu.GetContextBankState(ContextBank, out ContextBankState cb), "read the bank");
        Check.That(vmid is > 0 and < 0x8000, $"the VM has a VMID ({vmid})");
        Check.That(cb.Vmid == vmid && cb.Vttbr == vttbr, "the bank's VMID and VTTBR are the stage-2 domain's");
        Check.That(vttbr >> 48 == vmid && (vttbr & DescriptorWalk.AddressMask) is >= PoolBase and < PoolBase + PoolBytes,
                   $"VTTBR 0x{vttbr:x}: a pool table with the VMID in [63:48]");
        Check.That(cb.Flags == 2u << ContextBankState.RegimeShift, $"bank flags 0x{cb.Flags:x}: the nested regime, TTBR0 enabled, not split");
        Check.Ok(Smmu.GetTtbr0(GuestBase, out ulong ttbr0), "read the guest base's TTBR0");
        Check.That(cb.Asid == BaseAsid && cb.Ttbr0 == ttbr0 && cb.Ttbr1 == 0, "stage 1 of the bank is the guest's base domain");
        foreach (DomainHandle d in _processes.Prepend(GuestBase))
        {
            Check.Ok(Smmu.GetVmid(d, out uint seen), "read a guest domain's VMID");
            Check.Ok(Smmu.GetVttbr(d, out ulong seenVttbr), "read a guest domain's VTTBR");
            Check.That(seen == vmid && seenVttbr == vttbr, "every guest domain reads its bank's VMID and VTTBR");
        }
        return new VmIdentity(vmid, vttbr, cb.Flags);
    }

    /// <summary>
    /// The seed under the VM: a cold job on the base and every process (one miss per page, each a nested walk
    /// of 24 descriptor reads), then <see cref="WarmRounds"/> rounds of switches on the warm working set.
    /// </summary>
    public SeedUnderVm RunSeed()
    {
        Check.Ok(Smmu.TlbInvalidateAll(), "start cold");
        SmmuStats before = Smmu.Stats;
        for (int p = -1; p < Processes; p++)
            UseDomain(p);
        SmmuStats cold = Smmu.Stats;
        ulong walks = cold.Walks - before.Walks;
        Check.That(cold.Stage2Walks - before.Stage2Walks == walks && walks == cold.TlbMisses - before.TlbMisses,
                   "every miss is one nested walk");
        for (int round = 0; round < WarmRounds; round++)
            for (int p = 0; p < Processes; p++)
                UseDomain(p);
        SmmuStats warm = Smmu.Stats;
        const int Switches = WarmRounds * Processes;
        Check.That(warm.Switches - cold.Switches == Switches, "switches counted");
        return new SeedUnderVm(cold.TlbMisses - before.TlbMisses, (double)(cold.DescriptorReads - before.DescriptorReads) / walks,
                               (double)(warm.TlbMisses - cold.TlbMisses) / Switches,
                               warm.TlbInvalidations - cold.TlbInvalidations + warm.VmidInvalidations - cold.VmidInvalidations, Switches);
    }

    /// <summary>
    /// The hypervisor unmaps the page that holds process 1's level-3 table: stage 2 faults on that table's
    /// fetch (S1PTW), naming the IPA of the descriptor the walk wanted; after a remap process 1 runs again.
    /// Returns the fault and the table's IPA.
    /// </summary>
    public (SmmuFault Fault, ulong TableIpa) UnmapGuestTablePage()
    {
        Check.Ok(Smmu.GetTtbr0(_processes[1], out ulong ttbr0), "read process 1's TTBR0");
        var walk = new DescriptorWalk(Smmu, ttbr0 & DescriptorWalk.AddressMask, JobIova);
        Check.That(walk.IsLeaf && walk.LeafLevel == 3 && (walk.Leaf & DescriptorWalk.AddressMask) == ProcessIpa(1),
                   "process 1's stage-1 tables (IPA = PA) lead to its buffer's IPA");
        ulong table = walk.TableAt(3);
        ulong vmidInvalidations = Smmu.Stats.VmidInvalidations;
        Check.That(Smmu.Unmap(Stage2, table, PageSize) == (long)PageSize, "stage 2: unmap the guest table's page");
        Check.That(Smmu.Stats.VmidInvalidations == vmidInvalidations + 1, "a stage-2 unmap invalidates the VMID's combined entries");

        Check.Ok(Smmu.SwitchDomain(_processes[1]), "switch to process 1");
        SmmuFault fault = _probe.Expect(JobIova + 0x48, SmmuAccess.Read,
                                        new ExpectedFault(FaultType.Translation, 3, 2, true, walk.DescriptorPaAt(3), _processAsids[1], _processes[1]),
                                        "stage 2 faults on the guest's level-3 table fetch");
        _probe.Expect(JobIova + 3 * PageSize, SmmuAccess.Write | SmmuAccess.Priv,
                      new ExpectedFault(FaultType.Translation, 3, 2, true, table + 3 * sizeof(ulong), _processAsids[1], _processes[1]),
                      "the same for a privileged write");
        Check.Ok(Smmu.SwitchDomain(_processes[2]), "switch to process 2");
        Check.That(Translate(JobIova + 0x48) == HostPa(ProcessIpa(2) + 0x48), "process 2's tables are elsewhere: it still runs");
        Check.Ok(Smmu.Map(Stage2, table, table, PageSize, ReadWrite), "stage 2: give the page back");
        Check.Ok(Smmu.SwitchDomain(_processes[1]), "switch to process 1");
        Check.That(Translate(JobIova + 0x48) == HostPa(ProcessIpa(1) + 0x48), "process 1 runs again");
        return (fault, table);
    }

    /// <summary>A write to data that stage 2 maps read-only (the guest maps it read/write): a stage-2 permission fault, no S1PTW.</summary>
    public SmmuFault WriteToReadOnlyData()
    {
        Check.Ok(Smmu.SwitchDomain(_processes[0]), "switch to process 0");
        Check.That(Translate(SharedIova + 0x100) == ReadOnlyPa + 0x100, "the shared page reads");
        var expected = new ExpectedFault(FaultType.Permission, 3, 2, false, ReadOnlyIpa + 0x100, _processAsids[0], _processes[0]);
        SmmuFault fault = _probe.Expect(SharedIova + 0x100, SmmuAccess.Write, expected, "a write to read-only data (TLB hit)");
        Check.Ok(Smmu.TlbInvalidateAll(), "invalidate");
        _probe.Expect(SharedIova + 0x100, SmmuAccess.Write, expected, "a write to read-only data (TLB miss)");
        return fault;
    }

    /// <summary>The hypervisor backs the pool with 2 MiB blocks instead: descriptor reads per nested miss (20).</summary>
    public double DescriptorReadsWithBlockBackedPool()
    {
        Check.That(Smmu.Unmap(Stage2, PoolBase, PoolBytes) == (long)PoolBytes, "stage 2: unmap the pool");
        Check.Ok(Smmu.Map(Stage2, PoolBase, PoolBase, PoolBytes, ReadWrite), "stage 2: the pool in 2 MiB blocks");
        SmmuStats before = Smmu.Stats;
        for (int p = 0; p < Processes; p++)
            UseDomain(p);
        SmmuStats after = Smmu.Stats;
        Check.That(after.Walks - before.Walks == Processes * JobPages, "one walk per page after the remap (TLBIVMALL)");
        return (double)(after.DescriptorReads - before.DescriptorReads) / (after.Walks - before.Walks);
    }

    /// <summary>Detaches (processes first) and frees; the VMID goes with the last user. Returns the table pages still in use (0).</summary>
    public ulong TearDown()
    {
        Check.That(Smmu.DetachDevice(GuestBase, StreamId) == SmmuError.Busy, "the base's detach is EBUSY while processes are attached");
        foreach (DomainHandle process in _processes)
        {
            Check.Ok(Smmu.DetachDevice(process, StreamId), "detach a process");
            Check.Ok(Smmu.DomainFree(process), "free a process");
        }
        ulong vmidInvalidations = Smmu.Stats.VmidInvalidations;
        Check.Ok(Smmu.DetachDevice(GuestBase, StreamId), "detach the guest's base");
        Check.That(Smmu.Stats.VmidInvalidations == vmidInvalidations + 1, "the last user's detach invalidates the VMID");
        Check.That(Smmu.GetVmid(Stage2, out _) == SmmuError.NoDevice, "the VMID is freed");
        Check.Ok(Smmu.DomainFree(GuestBase), "free the guest's base");
        Check.Ok(Smmu.DomainFree(Stage2), "free the stage-2 domain");
        return Smmu.Stats.PtPagesInUse;
    }

    /// <summary>Descriptor reads per miss of the same kind of stage-1 table without stage 2 (for comparison: 4).</summary>
    public static double Stage1OnlyReadsPerMiss()
    {
        using SmmuInstance smmu = SmmuInstance.Create(SmmuConfig.Default);
        Check.Ok(smmu.DomainAlloc(out DomainHandle d), "alloc");
        Check.Ok(smmu.Map(d, JobIova, HostRamPa, JobPages * PageSize, ReadWrite), "map");
        Check.Ok(smmu.AttachDevice(d, StreamId), "attach");
        for (ulong i = 0; i < JobPages; i++)
            Check.Ok(smmu.Translate(StreamId, JobIova + i * PageSize, SmmuAccess.Read, out _), "translate");
        SmmuStats stats = smmu.Stats;
        return (double)stats.DescriptorReads / stats.Walks;
    }

    public void Dispose() => Smmu.Dispose();

    /// <summary>Prints the scenario.</summary>
    public static void Run(TextWriter output)
    {
        using var vm = new NestedVmScenario();
        output.WriteLine($"Stage 2 (STAGE = 2) is the VM's memory: the table pool (0x{PoolBase:x}, {PoolBytes >> 20} MiB) IPA = PA in 4 KiB pages,");
        output.WriteLine($"guest RAM IPA 0x{GuestRamIpa:x} -> host 0x{HostRamPa:x}, one page read-only (IPA 0x{ReadOnlyIpa:x}). The guest's base");
        output.WriteLine($"domain names it as NEST_PARENT; {Processes} processes (dynamic domains), {JobPages} pages each at 0x{JobIova:x}.");
        VmIdentity id = vm.CheckVmid();
        output.WriteLine($"  attach the guest's base -> context bank {vm.ContextBank}, ASID {vm.BaseAsid}, VMID {id.Vmid}, VTTBR 0x{id.Vttbr:x16},");
        output.WriteLine($"      regime {id.Flags >> ContextBankState.RegimeShift} (nested); the processes read the same VMID and VTTBR");

        SeedUnderVm seed = vm.RunSeed();
        double stage1Only = Stage1OnlyReadsPerMiss();
        output.WriteLine($"  cold jobs (base + {Processes} processes): {seed.ColdMisses} misses, {seed.DescriptorReadsPerMiss:F2} descriptor reads per nested miss");
        output.WriteLine($"      = 4 stage-1 levels x (4 stage-2 reads + 1) + 4 for the output IPA (stage 1 alone: {stage1Only:F2})");
        output.WriteLine($"  warm: {seed.WarmSwitches} switches between processes under the VM -> {seed.WarmMissesPerSwitch:F2} misses per switch, " +
                         $"{seed.WarmInvalidations} invalidations");
        Check.That(seed.ColdMisses == (Processes + 1) * JobPages, $"cold: {seed.ColdMisses} misses, one per page expected");
        Check.That(seed.DescriptorReadsPerMiss == 24, $"{seed.DescriptorReadsPerMiss} descriptor reads per nested miss, expected 24");
        Check.That(stage1Only == 4, $"{stage1Only} descriptor reads per stage-1 miss, expected 4");
        Check.That(seed.WarmMissesPerSwitch == 0 && seed.WarmInvalidations == 0, "warm switches under the VM cost no miss and invalidate nothing");

        (SmmuFault ptw, ulong table) = vm.UnmapGuestTablePage();
        output.WriteLine($"  the hypervisor unmaps the page of process 1's level-3 table (IPA 0x{table:x}); a read ->");
        output.WriteLine($"      {FaultProbe.Describe(ptw)} (PTWF); after the remap it runs again");
        SmmuFault permission = vm.WriteToReadOnlyData();
        output.WriteLine($"  a write to the page stage 2 maps read-only -> {FaultProbe.Describe(permission)} (WNR)");

        double blocks = vm.DescriptorReadsWithBlockBackedPool();
        output.WriteLine($"  the pool backed by 2 MiB blocks instead -> {blocks:F2} descriptor reads per nested miss (4 x (3 + 1) + 4)");
        Check.That(blocks == 20, $"{blocks} descriptor reads per nested miss with 2 MiB blocks, expected 20");
        ulong pages = vm.TearDown();
        Check.That(pages == 0, $"{pages} table pages still in use after the teardown");
        output.WriteLine("  teardown: processes, then the guest's base (its detach invalidates and frees the VMID); table pages in use: 0");
    }

    /// <summary>use_domain(p): switch, read/write every page of the job once, check each PA.</summary>
    private void UseDomain(int p)
    {
        Check.Ok(Smmu.SwitchDomain(p < 0 ? GuestBase : _processes[p]), "switch");
        for (ulong i = 0; i < JobPages; i++)
        {
            ulong offset = i * PageSize + ((i * 0x88) & 0xFF8);
            Check.That(Translate(JobIova + offset, SmmuAccess.Read | SmmuAccess.Write) == HostPa(ProcessIpa(p) + offset),
                       $"process {p}: 0x{JobIova + offset:x} must reach the host PA behind its IPA");
        }
    }

    /// <summary>The hypervisor backs the table pool IPA = PA, one 4 KiB page per map (so every stage-2 walk reads 4 levels).</summary>
    private void BackPoolWithPages()
    {
        for (ulong offset = 0; offset < PoolBytes; offset += PageSize)
            Check.Ok(Smmu.Map(Stage2, PoolBase + offset, PoolBase + offset, PageSize, ReadWrite), "stage 2: a pool page");
    }

    private ulong Translate(ulong iova, SmmuAccess access = SmmuAccess.Read)
    {
        Check.Ok(Smmu.Translate(StreamId, iova, access, out ulong pa), $"translate 0x{iova:x}");
        return pa;
    }
}
