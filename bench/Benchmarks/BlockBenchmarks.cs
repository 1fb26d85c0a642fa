using BenchmarkDotNet.Attributes;
using Smmu.Bench.Fixtures;
using Smmu.Core;
using Smmu.Core.Translation;

namespace Smmu.Bench.Benchmarks;

/// <summary>
/// Translation through 2 MiB blocks: 1 GiB mapped as 512 level-2 blocks (the PA is 2 MiB- but not
/// 1 GiB-aligned, so map() cannot use one 1 GiB block), read at random. 512 block entries fit a
/// 1024-entry TLB, so after warm-up this measures the block size class's lookup path.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class BlockBenchmarks
{
    private const int Blocks = 512;
    private const int Translations = 4096;
    private const ulong BlockPa = Layout.DataBase + Layout.BlockSize;

    private Testbed _testbed = null!;
    private ulong[] _iovas = null!;
    private ulong[] _pas = null!;

    [GlobalSetup]
    public void Setup()
    {
        _testbed = new Testbed(Layout.Config());
        SmmuInstance smmu = _testbed.Smmu;
        Check.Ok(smmu.Map(_testbed.Base, Layout.IovaBase, BlockPa, Blocks * Layout.BlockSize, SmmuProt.Read | SmmuProt.Write), "map blocks");
        _iovas = AccessPattern.Random(Translations, Blocks, Layout.BlockSize);
        _pas = new ulong[Translations];
        _testbed.Touch(_iovas);
        ulong misses = _testbed.Misses;
        for (int i = 0; i < _iovas.Length; i++)
        {
            Check.Ok(smmu.Translate(Layout.StreamId, _iovas[i], SmmuAccess.Read, out ulong pa), "translate");
            Check.That(pa == BlockPa + (_iovas[i] - Layout.IovaBase), "wrong PA");
        }
        Check.That(_testbed.Misses == misses, "the 512 blocks did not stay in the TLB");
        Check.That(smmu.TlbForTests.SizeClassesPresent == 1u << TlbLayout.SizeClassOf(21), "the TLB holds entries other than 2 MiB blocks");
    }

    [GlobalCleanup]
    public void Cleanup() => _testbed.Dispose();

    [Benchmark(OperationsPerInvoke = Translations)]
    public ulong Translate() => _testbed.TranslateEach(_iovas);

    [Benchmark(OperationsPerInvoke = Translations)]
    public ulong TranslateBatch() => _testbed.TranslateAll(_iovas, _pas);
}
