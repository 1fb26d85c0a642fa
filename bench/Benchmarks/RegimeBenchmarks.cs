using BenchmarkDotNet.Attributes;
using Smmu.Bench.Fixtures;
using Smmu.Core;

namespace Smmu.Bench.Benchmarks;

/// <summary>
/// Stage 1 alone against nested stage 1 + stage 2 (a device passed to a VM whose driver runs the seed):
/// a hit must cost the same — a combined TLB entry is looked up like a stage-1 one, its VMID folded into
/// the tag — and a miss costs the stage-2 walks of every stage-1 table address and of the output. Stage 2
/// maps the table pool and the data IPA = PA, with the largest blocks alignment allows (as a hypervisor
/// backs guest RAM); setup prints the descriptor reads per walk.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class RegimeBenchmarks
{
    private const int Translations = 4096;
    private const int HitPages = 1024;      // the TLB's capacity: every lookup hits once warm
    private const int MissPages = 1 << 18;  // 1 GiB of 4 KiB pages: nearly every lookup walks

    private SmmuInstance _smmu = null!;
    private ulong[] _hitIovas = null!;
    private ulong[] _missIovas = null!;
    private ulong[] _pas = null!;

    public enum Regime { Stage1, Nested }

    [Params(Regime.Stage1, Regime.Nested)]
    public Regime Translation { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        SmmuConfig config = Layout.Config();
        Check.Ok(SmmuInstance.Create(config, null, out SmmuInstance? smmu), "create");
        _smmu = smmu!;
        Check.Ok(_smmu.DomainAlloc(out DomainHandle stage1), "alloc the stage-1 domain");
        if (Translation == Regime.Nested)
        {
            Check.Ok(_smmu.DomainAlloc(out DomainHandle stage2), "alloc the stage-2 domain");
            Check.Ok(_smmu.SetStage(stage2, 2), "STAGE = 2");
            const SmmuProt readWrite = SmmuProt.Read | SmmuProt.Write;
            Check.Ok(_smmu.Map(stage2, config.PtPoolBase, config.PtPoolBase, config.PtPoolBytes, readWrite), "stage 2: the table pool");
            Check.Ok(_smmu.Map(stage2, Layout.DataBase, Layout.DataBase, 2 * Layout.DomainStride, readWrite), "stage 2: the data");
            Check.Ok(_smmu.SetNestParent(stage1, stage2), "NEST_PARENT");
        }
        Check.Ok(_smmu.AttachDevice(stage1, Layout.StreamId), "attach");
        Check.Ok(_smmu.Map(stage1, Layout.IovaBase, Layout.PageDataPa(0), (ulong)MissPages * Layout.PageSize,
                           SmmuProt.Read | SmmuProt.Write), "map 1 GiB of pages");
        _hitIovas = AccessPattern.Random(Translations, HitPages);
        _missIovas = AccessPattern.Random(Translations, MissPages);
        _pas = new ulong[Translations];

        Check.Ok(_smmu.TranslateBatch(Layout.StreamId, _missIovas, _pas, SmmuAccess.Read, out _), "miss set");
        for (int i = 0; i < Translations; i++)
            Check.That(_pas[i] == Layout.ExpectedPa(0, _missIovas[i]), "wrong PA");
        Check.Ok(_smmu.ResetStats(), "reset");
        Check.Ok(_smmu.TranslateBatch(Layout.StreamId, _missIovas, _pas, SmmuAccess.Read, out _), "miss set");
        SmmuStats walked = _smmu.Stats;
        Check.That(walked.Walks > Translations * 9 / 10, "the miss set hit the TLB");
        Console.WriteLine($"// {Translation}: {(double)walked.DescriptorReads / walked.Walks:F1} descriptor reads per walk");

        Check.Ok(_smmu.TlbInvalidateAll(), "invalidate");
        Check.Ok(_smmu.TranslateBatch(Layout.StreamId, AccessPattern.Sequential(HitPages), new ulong[HitPages], SmmuAccess.Read, out _), "warm");
        ulong misses = _smmu.Stats.TlbMisses;
        Check.Ok(_smmu.TranslateBatch(Layout.StreamId, _hitIovas, _pas, SmmuAccess.Read, out _), "hit set");
        Check.That(_smmu.Stats.TlbMisses == misses, "the hit set missed");
    }

    [GlobalCleanup]
    public void Cleanup() => _smmu.Dispose();

    [Benchmark(OperationsPerInvoke = Translations)]
    public ulong Hit()
    {
        _smmu.TranslateBatch(Layout.StreamId, _hitIovas, _pas, SmmuAccess.Read, out _);
        return _pas[^1];
    }

    [Benchmark(OperationsPerInvoke = Translations)]
    public ulong Miss()
    {
        _smmu.TranslateBatch(Layout.StreamId, _missIovas, _pas, SmmuAccess.Read, out _);
        return _pas[^1];
    }
}
