using BenchmarkDotNet.Attributes;
using Smmu.Bench.Fixtures;

namespace Smmu.Bench.Benchmarks;

/// <summary>
/// What watching the model costs the hit path (docs/monitoring.md): the TLB-hit <c>Translate</c> of
/// <see cref="TranslateHitBenchmarks"/> (1024 x 8, 4096 translations per invocation, one call each) with
/// nobody listening and with each kind of <see cref="Listener"/> attached, collecting every 100 ms.
/// Each case runs in its own process, so no listener outlives its case. On a shared machine the cases,
/// run one after the other, also measure the machine's drift; <c>bench -- monitor-cost</c> interleaves them.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class MonitoringOverheadBenchmarks
{
    private const int Translations = 4096;

    private Testbed _testbed = null!;
    private ulong[] _iovas = null!;
    private MonitoringListener? _listener;

    [Params(Listener.None, Listener.MeterListener, Listener.EventListener, Listener.EventPipe)]
    public Listener Attached { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        (_testbed, _iovas) = MonitorCostCommand.HitWorkload(Translations);
        _listener = new MonitoringListener(Attached);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _listener?.Dispose();
        _testbed.Dispose();
    }

    /// <summary>Named as in <see cref="TranslateHitBenchmarks"/>: one call per translation, all TLB hits.</summary>
    [Benchmark(OperationsPerInvoke = Translations)]
    public ulong Translate() => _testbed.TranslateEach(_iovas);
}
