// The child process of the monitor tests (tests/Smmu.Monitor.Tests), through Smmu.Core: the same
// workload and the same output lines as tests/native/workload.c (read that file's comment).
//   Smmu.Workload [--faults] [--rounds N]
//   Smmu.Workload --idle     a .NET process that never loads Smmu.Core: prints READY, waits for stdin to close
using System.Runtime.CompilerServices;
using Smmu.Core;

if (args is ["--idle"])
{
    // Main never touches a type of Smmu.Core, so the assembly is never loaded (the JIT loads it when it
    // compiles Workload.Run): what the monitor's "no model loaded" check needs.
    Console.WriteLine($"PID {Environment.ProcessId}");
    Console.WriteLine("READY");
    Console.Out.Flush();
    while (Console.ReadLine() is not null)
    {
    }
    return 0;
}
return Workload.Run(args);

internal static class Workload
{
    private const ulong Page = 0x1000;
    private const uint Sid1 = 3, Sid2 = 5;
    private const SmmuProt ReadWrite = SmmuProt.Read | SmmuProt.Write;

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static int Run(string[] args)
    {
        bool withFaults = args.Contains("--faults");
        int rounds = Array.IndexOf(args, "--rounds") is int r and >= 0 && r + 1 < args.Length ? int.Parse(args[r + 1]) : 10;
        var faults = new List<(int Instance, SmmuFault Fault)>();

        using SmmuInstance s1 = SmmuInstance.Create(SmmuConfig.Default);
        SmmuConfig config2 = SmmuConfig.Default;
        config2.TlbEntries = 256;
        config2.TlbWays = 4;
        using SmmuInstance s2 = SmmuInstance.Create(config2);

        Must(s1.DomainAlloc(out DomainHandle base1), "alloc base1");
        Must(s1.AttachDevice(base1, Sid1), "attach base1");
        Must(s1.GetContextBank(base1, out uint cb), "get CONTEXT_BANK");
        Must(s1.Map(base1, 0x1000_0000, 0x7000_0000, 16 * Page, ReadWrite), "map base1");
        var dyn = new DomainHandle[2];
        for (int i = 0; i < 2; i++)
        {
            Must(s1.DomainAlloc(out dyn[i]), "alloc dyn");
            Must(s1.SetDynamic(dyn[i], true), "set DYNAMIC");
            Must(s1.SetContextBank(dyn[i], cb), "set CONTEXT_BANK");
            Must(s1.AttachDevice(dyn[i], Sid1), "attach dyn");
            Must(s1.Map(dyn[i], 0x1000_0000, 0x8000_0000 + (ulong)i * 0x100_0000, 64 * Page, ReadWrite), "map dyn");
        }
        Must(s1.GetAsid(dyn[0], out uint asid0), "get ASID");
        Must(s2.DomainAlloc(out DomainHandle base2), "alloc base2");
        Must(s2.AttachDevice(base2, Sid2), "attach base2");
        Must(s2.Map(base2, 0x2000_0000, 0x9000_0000, 32 * Page, ReadWrite), "map base2");

        Console.WriteLine($"PID {Environment.ProcessId}");
        Console.WriteLine("READY");
        Console.Out.Flush();
        if (Console.ReadLine() is null)
            return 1;

        for (int round = 0; round < rounds; round++)
        {
            for (int i = 0; i < 2; i++)
            {
                Must(s1.SwitchDomain(dyn[i]), "switch");
                TranslatePages(s1, Sid1, 0x1000_0000, 64, 4);
            }
            TranslatePages(s2, Sid2, 0x2000_0000, 32, 2);
            Thread.Sleep(100);
        }
        Must(s1.Unmap(dyn[1], 0x1000_0000 + 32 * Page, 32 * Page), "unmap");
        Must(s1.TlbInvalidateAsid(asid0), "tlb_inv_asid");

        if (withFaults)
        {
            // Copies each record, and the id of the instance that raised it; not RETRY: the translation fails with EFAULT.
            SmmuFaultHandler record = (SmmuInstance smmu, DomainHandle _, in SmmuFault f) =>
            {
                faults.Add((smmu.Id, f));
                return 0;
            };
            Must(s1.SetFaultHandler(base1, record), "set handler 1");
            Must(s2.SetFaultHandler(base2, record), "set handler 2");
            Must(s1.SwitchDomain(dyn[0]), "switch");                                   // 1: translation fault, read
            ExpectFault(s1, Sid1, 0x3000_0000, SmmuAccess.Read);
            Must(s1.Map(dyn[1], 0x4000_0000, 0xA000_0000, Page, SmmuProt.Read), "map read-only");
            Must(s1.SwitchDomain(dyn[1]), "switch");                                   // 2: permission fault, write
            ExpectFault(s1, Sid1, 0x4000_0000, SmmuAccess.Write);
            ExpectFault(s2, Sid2, 0x5000_0000, SmmuAccess.Read | SmmuAccess.Exec | SmmuAccess.Priv);   // 3: instance 2
        }

        foreach ((int instance, SmmuFault f) in faults)
        {
            Console.WriteLine($"FAULT instance={instance} stream_id={f.StreamId} context_bank={f.ContextBank} asid={f.Asid} "
                + $"active_domain={f.ActiveDomain.Value} iova={f.Iova} access={(uint)f.Access} type={(uint)f.Type} level={f.Level} fsr={f.Fsr} fsynr0={f.Fsynr}");
        }
        PrintStats(s1);
        PrintStats(s2);
        Console.WriteLine("DONE");
        Console.Out.Flush();
        while (Console.ReadLine() is not null)
        {
            // wait for stdin to close
        }
        return 0;
    }

    private static void TranslatePages(SmmuInstance smmu, uint sid, ulong iova, int pages, int passes)
    {
        for (int p = 0; p < passes; p++)
        {
            for (int i = 0; i < pages; i++)
                Must(smmu.Translate(sid, iova + (ulong)i * Page, SmmuAccess.Read, out _), "translate");
        }
    }

    private static void ExpectFault(SmmuInstance smmu, uint sid, ulong iova, SmmuAccess access)
    {
        int rc = smmu.Translate(sid, iova, access, out _);
        if (rc != SmmuError.Fault)
            Fail($"translate 0x{iova:x} expected EFAULT, got {rc}");
    }

    private static void PrintStats(SmmuInstance smmu)
    {
        SmmuStats s = smmu.Stats;
        Console.WriteLine($"STATS instance={smmu.Id} translations={s.Translations} tlb_hits={s.TlbHits} tlb_misses={s.TlbMisses} "
            + $"walks={s.Walks} faults={s.Faults} switches={s.Switches} tlb_invalidations={s.TlbInvalidations} "
            + $"tlb_entries_invalidated={s.TlbEntriesInvalidated} pt_pages_in_use={s.PtPagesInUse} pt_pages_free={s.PtPagesFree} "
            + $"stage2_walks={s.Stage2Walks} descriptor_reads={s.DescriptorReads} vmid_invalidations={s.VmidInvalidations} "
            + $"stale_translations={s.StaleTranslations} missed_syncs={s.MissedSyncs} needless_invalidations={s.NeedlessInvalidations}");
    }

    private static void Must(long rc, string what)
    {
        if (rc < 0)
            Fail($"{what} -> {rc} ({SmmuError.Describe((int)rc)})");
    }

    private static void Fail(string message)
    {
        Console.WriteLine($"ERROR {message}");
        Environment.Exit(1);
    }
}
