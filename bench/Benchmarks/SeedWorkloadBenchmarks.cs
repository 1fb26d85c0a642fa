using BenchmarkDotNet.Attributes;
using Smmu.Bench.Fixtures;

namespace Smmu.Bench.Benchmarks;

/// <summary>
/// The seed's workload (see <see cref="DomainSwitchWorkload"/>): base + N dynamic domains with 64 pages
/// each at the same IOVAs, a switch every K translations. Every invocation does 64,000 translations
/// (64000 / K switches), so the per-op figure is per translation, switch cost included.
/// With a 1024-entry 8-way TLB and the same IOVAs in every domain, 8 domains' working sets fit.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class SeedWorkloadBenchmarks
{
    private const int TranslationsPerInvoke = 64_000;
    private const int PagesPerDomain = 64;

    private DomainSwitchWorkload _workload = null!;

    [Params(2, 8, 64)]
    public int Domains { get; set; }

    [Params(100, 1000)]
    public int SwitchEvery { get; set; }

    [Params(SwitchMode.AsidTagged, SwitchMode.NoAsidTagging)]
    public SwitchMode Mode { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _workload = new DomainSwitchWorkload(Layout.Config(flags: Mode.Flags()), Domains, PagesPerDomain, SwitchEvery);
        _workload.Run(4 * Domains, Domains);
        Check.That(_workload.RunVerified(2 * Domains, Domains) == 0, "a translated PA did not match its domain's mapping");
    }

    [GlobalCleanup]
    public void Cleanup() => _workload.Dispose();

    [Benchmark(OperationsPerInvoke = TranslationsPerInvoke)]
    public ulong SwitchAndTranslate() => _workload.Run(TranslationsPerInvoke / SwitchEvery, Domains);
}
