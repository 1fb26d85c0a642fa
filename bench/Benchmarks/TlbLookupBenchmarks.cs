using BenchmarkDotNet.Attributes;
using Smmu.Bench.Fixtures;
using Smmu.Core;
using Smmu.Core.Translation;

namespace Smmu.Bench.Benchmarks;

/// <summary>
/// The raw TLB lookup (no stream, no stats, no permission check) over a precomputed array of IOVAs that
/// all hit, for each kernel width. The width is forced when the instance is created (the TLB itself has
/// no width: each lookup here names its kernel); a width the CPU does not accelerate runs through the runtime's software fallback (slow, but
/// shown for completeness).
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class TlbLookupBenchmarks
{
    private const int Lookups = 4096;

    private Testbed _testbed = null!;
    private Tlb _tlb = null!;
    private ulong[] _iovas = null!;
    private TlbContext _context;

    [Params(256, 1024, 4096)]
    public int Entries { get; set; }

    [Params(4, 8, 16)]
    public int Ways { get; set; }

    [Params(SimdWidth.Scalar, SimdWidth.Vector128, SimdWidth.Vector256, SimdWidth.Vector512)]
    public SimdWidth Width { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _testbed = new Testbed(Layout.Config((uint)Entries, (uint)Ways), Width);
        _tlb = _testbed.Smmu.TlbForTests;
        _testbed.MapPages(_testbed.Base, 0, Entries);
        _testbed.Touch(AccessPattern.Sequential(Entries));
        _iovas = AccessPattern.Random(Lookups, Entries);
        _context = new TlbContext(_testbed.AsidOf(_testbed.Base), vmid: 0, stage2Input: false);
        foreach (ulong iova in _iovas)
            Check.That(_tlb.Lookup<ScalarKernel>(iova, _context) >= 0, "a lookup of the working set missed");
    }

    [GlobalCleanup]
    public void Cleanup() => _testbed.Dispose();

    [Benchmark(OperationsPerInvoke = Lookups)]
    public int Lookup() => Width switch
    {
        SimdWidth.Vector512 => LookupAll<Vector512Kernel>(),
        SimdWidth.Vector256 => LookupAll<Vector256Kernel>(),
        SimdWidth.Vector128 => LookupAll<Vector128Kernel>(),
        _ => LookupAll<ScalarKernel>(),
    };

    private int LookupAll<TKernel>() where TKernel : struct, ITlbKernel
    {
        Tlb tlb = _tlb;
        TlbContext context = _context;
        int sum = 0;
        foreach (ulong iova in _iovas)
            sum += tlb.Lookup<TKernel>(iova, context);
        return sum;
    }
}
