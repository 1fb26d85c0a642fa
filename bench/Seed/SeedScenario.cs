using Smmu.Bench.Fixtures;
using Smmu.Core;

namespace Smmu.Bench.Seed;

/// <summary>
/// The example of seed-dynamic-domains.txt, step by step: a base domain and two dynamic domains on one
/// context bank, rounds of map / use / unmap, then the detaches in the order the seed requires. Each
/// step prints what the model did (ASIDs, TLB misses and invalidations from the stats counters).
/// </summary>
internal static class SeedScenario
{
    private const int JobPages = 16;
    private const int JobPasses = 4;
    private const int Rounds = 3;
    private const SmmuProt ReadWrite = SmmuProt.Read | SmmuProt.Write;

    /// <summary>Runs the scenario; returns how many translated PAs did not match the mapping.</summary>
    public static long Run(TextWriter output)
    {
        using var testbed = new Testbed(Layout.Config());
        SmmuInstance smmu = testbed.Smmu;
        DomainHandle baseDomain = testbed.Base;
        ulong[] job = JobIovas();
        var pas = new ulong[job.Length];
        long mismatches = 0;

        output.WriteLine($"SMMU: {smmu.Config.TlbEntries}-entry {smmu.Config.TlbWays}-way TLB, {smmu.TlbWidth} kernels, ASID-tagged switching");
        Check.Ok(smmu.GetTtbr0(baseDomain, out ulong ttbr0), "read TTBR0");
        output.WriteLine($"  attach base -> stream {Layout.StreamId}: context bank {testbed.ContextBank}, ASID {testbed.AsidOf(baseDomain)}, TTBR0 0x{ttbr0:x16}");

        DomainHandle dyn1 = testbed.AddDynamic(), dyn2 = testbed.AddDynamic();
        output.WriteLine($"  attach dyn1, dyn2 (DYNAMIC=1, CONTEXT_BANK={testbed.ContextBank}) -> ASIDs {testbed.AsidOf(dyn1)}, {testbed.AsidOf(dyn2)}; " +
                         "the bank is not reprogrammed");
        output.WriteLine($"  detach base now -> {Check.Describe(smmu.DetachDevice(baseDomain, Layout.StreamId))}: " +
                         "dynamic domains still attached (seed constraint 1), nothing changed");
        ulong tablePagesIdle = smmu.Stats.PtPagesInUse;

        for (int round = 1; round <= Rounds; round++)
        {
            Check.Ok(smmu.Map(dyn1, Layout.IovaBase, Layout.PageDataPa(1), JobPages * Layout.PageSize, ReadWrite), "map dyn1");
            Check.Ok(smmu.Map(dyn2, Layout.IovaBase, Layout.PageDataPa(2), JobPages * Layout.PageSize, ReadWrite), "map dyn2");
            ulong tablePagesMapped = smmu.Stats.PtPagesInUse;
            string use1 = UseDomain(smmu, dyn1, 1, job, pas, ref mismatches);
            string use2 = UseDomain(smmu, dyn2, 2, job, pas, ref mismatches);
            string back = UseDomain(smmu, dyn1, 1, job, pas, ref mismatches);
            SmmuStats before = smmu.Stats;
            Check.That(smmu.Unmap(dyn1, Layout.IovaBase, JobPages * Layout.PageSize) == JobPages * (long)Layout.PageSize, "unmap dyn1");
            Check.That(smmu.Unmap(dyn2, Layout.IovaBase, JobPages * Layout.PageSize) == JobPages * (long)Layout.PageSize, "unmap dyn2");
            ulong invalidated = smmu.Stats.TlbEntriesInvalidated - before.TlbEntriesInvalidated;
            output.WriteLine($"  round {round}: map {JobPages} pages in dyn1 and dyn2 at the same IOVA 0x{Layout.IovaBase:x} " +
                             $"(table pages {tablePagesIdle} -> {tablePagesMapped})");
            output.WriteLine($"           use dyn1: {use1} | use dyn2: {use2} | back to dyn1: {back}");
            output.WriteLine($"           unmap both: {invalidated} TLB entries invalidated by ASID+range, " +
                             $"table pages back to {smmu.Stats.PtPagesInUse}");
        }
        output.WriteLine("           (each round starts cold because unmap invalidates; 'back to dyn1' is not in the seed:");
        output.WriteLine("            it shows that switching away and back costs no miss with ASID tagging)");

        Check.Ok(smmu.DetachDevice(dyn2, Layout.StreamId), "detach dyn2");
        Check.Ok(smmu.DetachDevice(dyn1, Layout.StreamId), "detach dyn1");
        Check.Ok(smmu.GetContextBank(baseDomain, out uint bank), "base still attached");
        output.WriteLine($"  detach dyn2, dyn1 -> their ASIDs invalidated and freed; context bank {bank} keeps the base's " +
                         $"programming (ASID {testbed.AsidOf(baseDomain)})");
        Check.Ok(smmu.DetachDevice(baseDomain, Layout.StreamId), "detach base");
        Check.Ok(smmu.DomainFree(dyn2), "free dyn2");
        Check.Ok(smmu.DomainFree(dyn1), "free dyn1");
        Check.Ok(smmu.DomainFree(baseDomain), "free base");
        output.WriteLine($"  detach base -> context bank {bank} released; domains freed, table pages in use: {smmu.Stats.PtPagesInUse}");
        output.WriteLine($"  {Rounds * 3 * job.Length} translations, {(mismatches == 0 ? "every PA matched its domain's mapping" : $"{mismatches} WRONG PAs")}");
        return mismatches;
    }

    /// <summary>The seed's use_domain: switch the bank to the domain, run a job; describes the misses.</summary>
    private static string UseDomain(SmmuInstance smmu, DomainHandle domain, int index, ulong[] job, ulong[] pas, ref long mismatches)
    {
        SmmuStats before = smmu.Stats;
        Check.Ok(smmu.SwitchDomain(domain), "switch_domain");
        Check.Ok(smmu.TranslateBatch(Layout.StreamId, job, pas, SmmuAccess.Read, out _), "translate job");
        for (int i = 0; i < job.Length; i++)
            mismatches += pas[i] == Layout.ExpectedPa(index, job[i]) ? 0 : 1;
        ulong misses = smmu.Stats.TlbMisses - before.TlbMisses;
        return $"{job.Length} reads, {misses,2} misses";
    }

    /// <summary>A job: <see cref="JobPasses"/> passes over <see cref="JobPages"/> pages, a different offset each pass.</summary>
    private static ulong[] JobIovas()
    {
        var iovas = new ulong[JobPasses * JobPages];
        for (int pass = 0; pass < JobPasses; pass++)
            for (int page = 0; page < JobPages; page++)
                iovas[pass * JobPages + page] = Layout.IovaBase + (ulong)page * Layout.PageSize + (ulong)(pass * 0x408 + page * 8);
        return iovas;
    }
}
