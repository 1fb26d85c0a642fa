using Smmu.Core.Domains;
using Smmu.Core.Memory;
using Smmu.Core.PageTables;
using Smmu.Core.Translation;

namespace Smmu.Core;

/// <summary>
/// One modelled ARM SMMU with its driver half: context banks, stream matching, domains (base and
/// Qualcomm-style dynamic) with their page tables in simulated physical memory, an ASID-tagged
/// TLB, and fault reporting. The API mirrors the Linux IOMMU calls; every method that a C caller
/// can reach returns an <see cref="SmmuError"/> code instead of throwing, and a failed call leaves
/// the model unchanged. One thread at a time per instance; distinct instances are independent.
/// </summary>
public sealed partial class SmmuInstance : IDisposable
{
    private readonly SmmuConfig _config;
    private readonly PagePool _pool;
    private readonly PageTableMapper _mapper;
    private readonly Tlb _tlb;
    private readonly AsidAllocator _asids;
    private readonly DomainTable _domains;
    private readonly StreamTable _streams;
    private readonly ContextBank[] _banks;
    private readonly ulong _inputLimit;
    private readonly ulong _outputLimit;
    private readonly bool _flushOnSwitch;
    private SmmuStats _stats;
    private static int s_instancesCreated;
    private int _handlerDepth;
    private bool _disposed;

    private SmmuInstance(in SmmuConfig config)
    {
        _config = config;
        _pool = new PagePool(config.PtPoolBase, config.PtPoolBytes);
        _mapper = new PageTableMapper(_pool, (int)config.Ias, (int)config.Oas);
        var width = (config.Flags & SmmuConfigFlags.ScalarTlb) != 0 ? SimdWidth.Scalar : SimdSupport.Widest;
        _tlb = new Tlb((int)config.TlbEntries, (int)config.TlbWays, width);
        _asids = new AsidAllocator((int)config.AsidBits);
        // A different salt per instance (golden-ratio spread) keeps instances' domain handles apart.
        _domains = new DomainTable((int)((uint)Interlocked.Increment(ref s_instancesCreated) * 0x9E3779B1u >> 22));
        _streams = new StreamTable((int)config.NumStreamIds);
        _banks = new ContextBank[config.NumContextBanks];
        _inputLimit = 1UL << (int)config.Ias;
        _outputLimit = 1UL << (int)config.Oas;
        _flushOnSwitch = (config.Flags & SmmuConfigFlags.NoAsidTagging) != 0;
        _stats.Size = SmmuStats.CurrentSize;
    }

    /// <summary>
    /// Creates an instance. Returns <see cref="SmmuError.Invalid"/> for a config with a field out of
    /// its range (see <see cref="SmmuConfig"/>), <see cref="SmmuError.NoMemory"/> when the host cannot
    /// back the pool.
    /// </summary>
    public static int Create(in SmmuConfig config, out SmmuInstance? instance)
    {
        instance = null;
        int rc = config.Validate();
        if (rc != SmmuError.Ok)
            return rc;
        try
        {
            instance = new SmmuInstance(config);
            return SmmuError.Ok;
        }
        catch (OutOfMemoryException)
        {
            return SmmuError.NoMemory;
        }
    }

    /// <summary>Creates an instance, throwing on a bad config: for C# callers who prefer exceptions.</summary>
    /// <exception cref="ArgumentException">The config is invalid.</exception>
    public static SmmuInstance Create(in SmmuConfig config)
    {
        int rc = Create(config, out SmmuInstance? instance);
        return rc == SmmuError.Ok ? instance! : throw new ArgumentException($"smmu config: {SmmuError.Describe(rc)}", nameof(config));
    }

    /// <summary>The configuration this instance was created with.</summary>
    public SmmuConfig Config => _config;

    /// <summary>The vector width the TLB matches sets with.</summary>
    public SimdWidth TlbWidth => _tlb.Width;

    /// <summary>True while a fault handler of this instance runs (the instance cannot be destroyed then).</summary>
    public bool InFaultHandler => _handlerDepth > 0;

    /// <summary>The counters, with the pool's page counts.</summary>
    public int GetStats(out SmmuStats stats)
    {
        stats = _stats;
        stats.PtPagesInUse = (ulong)_pool.PagesInUse;
        stats.PtPagesFree = (ulong)_pool.FreePages;
        return SmmuError.Ok;
    }

    /// <summary>The counters as a value (C# convenience).</summary>
    public SmmuStats Stats
    {
        get
        {
            GetStats(out SmmuStats stats);
            return stats;
        }
    }

    /// <summary>Zeroes the counters (the page counts are state, not counters, and stay).</summary>
    public int ResetStats()
    {
        _stats = new SmmuStats { Size = SmmuStats.CurrentSize };
        return SmmuError.Ok;
    }

    /// <summary>Frees the simulated memory and the TLB.</summary>
    /// <exception cref="InvalidOperationException">Called from inside one of this instance's fault handlers.</exception>
    public void Dispose()
    {
        if (_handlerDepth > 0)
            throw new InvalidOperationException("an SMMU instance cannot be disposed from inside its own fault handler");
        if (_disposed)
            return;
        _disposed = true;
        _pool.Dispose();
        _tlb.Dispose();
    }

    /// <summary>Internals for tests and benchmarks.</summary>
    internal Tlb TlbForTests => _tlb;
    internal PagePool PoolForTests => _pool;
}
