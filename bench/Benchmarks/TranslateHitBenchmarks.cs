using BenchmarkDotNet.Attributes;
using Smmu.Bench.Fixtures;
using Smmu.Core;

namespace Smmu.Bench.Benchmarks;

/// <summary>
/// Translation when every lookup hits: the working set is exactly the TLB's capacity (one page per way,
/// filled in order so nothing is evicted), read in random order. Per-op figures are per translation:
/// each invocation translates the same 4096 IOVAs, one at a time or in batches.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class TranslateHitBenchmarks
{
    private const int Translations = 4096;

    private Testbed _testbed = null!;
    private ulong[] _iovas = null!;
    private ulong[] _pas = null!;

    [ParamsSource(nameof(Geometries))]
    public TlbGeometry Tlb { get; set; }

    public static IEnumerable<TlbGeometry> Geometries => TlbGeometry.EntriesAndWays;

    [GlobalSetup]
    public void Setup()
    {
        _testbed = new Testbed(Layout.Config((uint)Tlb.Entries, (uint)Tlb.Ways));
        _testbed.MapPages(_testbed.Base, 0, Tlb.Entries);
        _testbed.Touch(AccessPattern.Sequential(Tlb.Entries));
        _iovas = AccessPattern.Random(Translations, Tlb.Entries);
        _pas = new ulong[Translations];
        ulong misses = _testbed.Misses;
        _testbed.Touch(_iovas);
        Check.That(_testbed.Misses == misses, "the TLB-hit working set missed");
    }

    [GlobalCleanup]
    public void Cleanup() => _testbed.Dispose();

    [Benchmark(OperationsPerInvoke = Translations)]
    public ulong Translate() => _testbed.TranslateEach(_iovas);

    /// <summary>The 4096 IOVAs in calls of <paramref name="batchSize"/>: per-call overhead vs the batch loop.</summary>
    [Benchmark(OperationsPerInvoke = Translations)]
    [Arguments(1)]
    [Arguments(16)]
    [Arguments(256)]
    [Arguments(4096)]
    public ulong TranslateBatch(int batchSize)
    {
        SmmuInstance smmu = _testbed.Smmu;
        for (int start = 0; start < Translations; start += batchSize)
            smmu.TranslateBatch(Layout.StreamId, _iovas.AsSpan(start, batchSize), _pas.AsSpan(start, batchSize), SmmuAccess.Read, out _);
        return _pas[^1];
    }
}
