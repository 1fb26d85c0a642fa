using BenchmarkDotNet.Attributes;
using Smmu.Bench.Fixtures;

namespace Smmu.Bench.Benchmarks;

/// <summary>
/// TLB maintenance sweeps. The TLB is filled with the base domain's entries (every way valid).
/// <see cref="TlbInvalidateAsid"/> invalidates a dynamic domain's ASID, so the TLB stays full from one
/// call to the next and every call sweeps a full TLB's ASIDs (it removes nothing: refilling between
/// calls would cost far more than the sweep). <see cref="TlbInvalidateAll"/> empties the TLB on the first
/// call; the sweep reads and clears every ASID either way, so later calls cost the same.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class InvalidateBenchmarks
{
    private Testbed _testbed = null!;
    private ushort _otherAsid;

    [Params(256, 1024, 4096)]
    public int Entries { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _testbed = new Testbed(Layout.Config((uint)Entries));
        _otherAsid = _testbed.AsidOf(_testbed.AddDynamic());
        _testbed.MapPages(_testbed.Base, 0, Entries);
        _testbed.Touch(AccessPattern.Sequential(Entries));
        Check.That(_testbed.Smmu.TlbForTests.ValidEntries() == Entries, "the TLB is not full");
    }

    [GlobalCleanup]
    public void Cleanup() => _testbed.Dispose();

    [Benchmark]
    public int TlbInvalidateAsid() => _testbed.Smmu.TlbInvalidateAsid(_otherAsid);

    [Benchmark]
    public int TlbInvalidateAll() => _testbed.Smmu.TlbInvalidateAll();
}
