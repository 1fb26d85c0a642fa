using BenchmarkDotNet.Attributes;
using Smmu.Bench.Fixtures;
using Smmu.Core;

namespace Smmu.Bench.Benchmarks;

/// <summary>
/// iommu_map followed by iommu_unmap of one 4 KiB page and of one 2 MiB block in the attached base
/// domain. A neighbouring page and block stay mapped, so the table pages on the way are already there
/// and are not freed by the unmap: this is the PTE write, the unmap and its TLB invalidation (ASID +
/// range, on a TLB holding 4 KiB and 2 MiB entries), not table allocation.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class MapUnmapBenchmarks
{
    private const SmmuProt ReadWrite = SmmuProt.Read | SmmuProt.Write;
    private const ulong PageIova = Layout.IovaBase + Layout.PageSize;
    private const ulong BlockIova = Layout.IovaBase + 2 * Layout.BlockSize;
    private const ulong NeighbourBlockIova = Layout.IovaBase + 3 * Layout.BlockSize;

    private Testbed _testbed = null!;

    [GlobalSetup]
    public void Setup()
    {
        _testbed = new Testbed(Layout.Config());
        SmmuInstance smmu = _testbed.Smmu;
        Check.Ok(smmu.Map(_testbed.Base, Layout.IovaBase, Layout.PageDataPa(0), Layout.PageSize, ReadWrite), "map neighbour page");
        Check.Ok(smmu.Map(_testbed.Base, NeighbourBlockIova, Layout.DataBase + 3 * Layout.BlockSize, Layout.BlockSize, ReadWrite), "map neighbour block");
        _testbed.Touch([Layout.IovaBase, NeighbourBlockIova]);
        Check.That(MapUnmapPage() == (long)Layout.PageSize && MapUnmapBlock() == (long)Layout.BlockSize, "map + unmap");
    }

    [GlobalCleanup]
    public void Cleanup() => _testbed.Dispose();

    [Benchmark]
    public long MapUnmapPage()
    {
        SmmuInstance smmu = _testbed.Smmu;
        int rc = smmu.Map(_testbed.Base, PageIova, Layout.PageDataPa(0) + Layout.PageSize, Layout.PageSize, ReadWrite);
        return rc + smmu.Unmap(_testbed.Base, PageIova, Layout.PageSize);
    }

    [Benchmark]
    public long MapUnmapBlock()
    {
        SmmuInstance smmu = _testbed.Smmu;
        int rc = smmu.Map(_testbed.Base, BlockIova, Layout.DataBase + 2 * Layout.BlockSize, Layout.BlockSize, ReadWrite);
        return rc + smmu.Unmap(_testbed.Base, BlockIova, Layout.BlockSize);
    }
}
