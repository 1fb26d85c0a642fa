using BenchmarkDotNet.Attributes;
using Smmu.Bench.Fixtures;
using Smmu.Core;

namespace Smmu.Bench.Benchmarks;

/// <summary>
/// Translation when nearly every lookup misses: 1 GiB of 4 KiB pages (262,144 pages, 256x a
/// 1024-entry TLB) read at random, so each translation walks four levels and fills the TLB.
/// <see cref="IovaToPhys"/> is the software walk alone, without the TLB.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class WalkBenchmarks
{
    private const int Pages = 1 << 18;
    private const int Translations = 4096;

    private Testbed _testbed = null!;
    private ulong[] _iovas = null!;
    private ulong[] _pas = null!;

    [GlobalSetup]
    public void Setup()
    {
        _testbed = new Testbed(Layout.Config());
        _testbed.MapPages(_testbed.Base, 0, Pages);
        _iovas = AccessPattern.Random(Translations, Pages);
        _pas = new ulong[Translations];
        _testbed.Touch(_iovas);
        ulong misses = _testbed.Misses;
        _testbed.Touch(_iovas);
        Check.That(_testbed.Misses - misses > Translations * 9 / 10, "the walk working set hit the TLB");
        for (int i = 0; i < _iovas.Length; i++)
        {
            Check.Ok(_testbed.Smmu.Translate(Layout.StreamId, _iovas[i], SmmuAccess.Read, out ulong pa), "translate");
            Check.That(pa == Layout.ExpectedPa(0, _iovas[i]), "wrong PA");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _testbed.Dispose();

    [Benchmark(OperationsPerInvoke = Translations)]
    public ulong Translate() => _testbed.TranslateEach(_iovas);

    [Benchmark(OperationsPerInvoke = Translations)]
    public ulong TranslateBatch() => _testbed.TranslateAll(_iovas, _pas);

    [Benchmark(OperationsPerInvoke = Translations)]
    public ulong IovaToPhys()
    {
        SmmuInstance smmu = _testbed.Smmu;
        DomainHandle domain = _testbed.Base;
        ulong sum = 0;
        foreach (ulong iova in _iovas)
        {
            smmu.IovaToPhys(domain, iova, out ulong pa);
            sum += pa;
        }
        return sum;
    }
}
