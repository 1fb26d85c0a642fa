using Smmu.Core.Diagnostics;
using Smmu.Core.Domains;
using Smmu.Core.Handles;
using Smmu.Core.Maintenance;
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
/// <para>This class is the facade, split like <c>smmu.h</c>'s sections (this file: instances and
/// statistics; then Domains, Attributes, Mappings, Translation, Tlb, Faults, ContextBanks). Each method
/// checks its arguments and delegates to the part that owns the state: <see cref="Translator"/>
/// (translation, TLB, counters), <see cref="Attachments"/> (attach, detach, switch),
/// <see cref="PageTableMapper"/> (tables), <see cref="FaultUnit"/> (fault delivery). Using an instance
/// after <see cref="Dispose"/> throws <see cref="ObjectDisposedException"/>.</para>
/// </summary>
public sealed partial class SmmuInstance : IDisposable
{
    private readonly SmmuConfig _config;
    private readonly PagePool _pool;
    private readonly PageTableMapper _mapper;
    private readonly IdAllocator _asids;
    private readonly IdAllocator _vmids;
    private readonly DomainTable _domains;
    private readonly DomainAttributes _attributes;
    private readonly Translator _translator;
    private readonly Attachments _attachments;
    private readonly FaultUnit _faults;
    private readonly Sanitizer _sanitizer;
    private readonly DeferredMaintenance _maintenance;
    private readonly int _slot;              // see InstanceSlots; part of every domain handle
    private bool _slotReleased;
    private readonly int _id;
    private bool _disposed;

    private SmmuInstance(in SmmuConfig config, SimdWidth? forcedWidth, int slot, int slotGeneration)
    {
        _slot = slot;
        Handle = HandleCodec.EncodeInstance(slot, slotGeneration);
        _config = config;
        try
        {
            _pool = new PagePool(config.PtPoolBase, config.PtPoolBytes);
            _mapper = new PageTableMapper(_pool);
            _asids = IdAllocator.ForAsids((int)config.AsidBits);
            _vmids = IdAllocator.ForVmids((int)config.VmidBits);
            _domains = new DomainTable(slot);
            var banks = new ContextBank[config.NumContextBanks];
            _attributes = new DomainAttributes(_domains, _mapper, _pool, banks, config);
            _faults = new FaultUnit(this, banks, _domains);
            SimdWidth width = forcedWidth ?? ((config.Flags & SmmuConfigFlags.ScalarTlb) != 0 ? SimdWidth.Scalar : SimdSupport.Widest);
            var tlb = new Tlb((int)config.TlbEntries, (int)config.TlbWays);
            _translator = Translator.Create(width, tlb, new StreamTable((int)config.NumStreamIds, (int)config.NumContextBanks), banks, _pool, _faults);
            _attachments = new Attachments(_domains, _asids, _vmids, _translator, (config.Flags & SmmuConfigFlags.NoAsidTagging) != 0);
            bool watching = (config.Flags & SmmuConfigFlags.SanitizeTlb) != 0;
            _sanitizer = new Sanitizer(this, _translator) { Watching = watching };
            if (watching)
            {
                tlb.EnableWatching();
                _translator.Sanitizer = _sanitizer;
            }
            _maintenance = new DeferredMaintenance(_domains, _pool, _translator, _sanitizer, config);
            _translator.Expose(slot, Handle);   // C may serve hits from now on
            _id = InstanceRegistry.Register(this);   // last: observers only ever see whole instances
        }
        catch
        {
            // The creator gives the slot back; this half-made object's finalizer must not.
            _slotReleased = true;
            GC.SuppressFinalize(this);
            throw;
        }
    }

    /// <summary>
    /// Creates an instance. Returns <see cref="SmmuError.Invalid"/> for a config with a field out of
    /// its range (see <see cref="SmmuConfig"/>), <see cref="SmmuError.NoMemory"/> when the host cannot
    /// back the pool or 2^<see cref="HandleCodec.InstanceSlotBits"/> instances are alive.
    /// </summary>
    public static int Create(in SmmuConfig config, out SmmuInstance? instance) => Create(config, null, out instance);

    /// <summary>Creates an instance, throwing on a bad config: for C# callers who prefer exceptions.</summary>
    /// <exception cref="ArgumentException">The config is invalid.</exception>
    public static SmmuInstance Create(in SmmuConfig config)
    {
        int rc = Create(config, out SmmuInstance? instance);
        return rc == SmmuError.Ok ? instance! : throw new ArgumentException($"smmu config: {SmmuError.Describe(rc)}", nameof(config));
    }

    /// <summary>Creates an instance whose TLB uses <paramref name="forcedWidth"/> whatever the CPU (every width runs anywhere): for tests and benchmarks.</summary>
    internal static int Create(in SmmuConfig requested, SimdWidth? forcedWidth, out SmmuInstance? instance)
    {
        instance = null;
        SmmuConfig config = requested.WithDefaultsForMissingFields();
        int rc = config.Validate();
        if (rc != SmmuError.Ok)
            return rc;
        if (!InstanceSlots.TryTake(out int slot, out int generation))
            return SmmuError.NoMemory;
        try
        {
            instance = new SmmuInstance(config, forcedWidth, slot, generation);
            return SmmuError.Ok;
        }
        catch (OutOfMemoryException)
        {
            InstanceSlots.Release(slot);
            return SmmuError.NoMemory;
        }
    }

    /// <summary>The C handle (<c>smmu_t</c>) of this instance: its slot and the slot's generation.</summary>
    internal uint Handle { get; }

    /// <summary>This instance's slot (see <see cref="HandleCodec"/>).</summary>
    internal int Slot => _slot;

    /// <summary>The configuration this instance was created with.</summary>
    public SmmuConfig Config
    {
        get
        {
            ThrowIfDisposed();
            return _config;
        }
    }

    /// <summary>
    /// This instance's number in the process: 1 for the first instance created, then 2, 3, … (never
    /// reused). The <c>instance</c> tag of the <c>Smmu</c> meter's instruments and fault events.
    /// </summary>
    public int Id
    {
        get
        {
            ThrowIfDisposed();
            return _id;
        }
    }

    /// <summary>The vector width the TLB matches sets with.</summary>
    public SimdWidth TlbWidth
    {
        get
        {
            ThrowIfDisposed();
            return _translator.Width;
        }
    }

    /// <summary>True while a fault handler of this instance runs (the instance cannot be destroyed then).</summary>
    public bool InFaultHandler
    {
        get
        {
            ThrowIfDisposed();
            return _faults.InHandler;
        }
    }

    /// <summary>True while a fault handler or a sanitizer handler of this instance runs (the instance cannot be destroyed then).</summary>
    public bool InHandler
    {
        get
        {
            ThrowIfDisposed();
            return _faults.InHandler || _sanitizer.InHandler;
        }
    }

    /// <summary>The counters, with the pool's page counts.</summary>
    public int GetStats(out SmmuStats stats)
    {
        ThrowIfDisposed();
        stats = _translator.StatsSnapshot();
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
        ThrowIfDisposed();
        _translator.ResetStats();
        return SmmuError.Ok;
    }

    /// <summary>Frees the simulated memory and the TLB; every later use throws <see cref="ObjectDisposedException"/>.</summary>
    /// <exception cref="InvalidOperationException">Called from inside one of this instance's fault or sanitizer handlers.</exception>
    public void Dispose()
    {
        if (_disposed)
            return;
        if (_faults.InHandler || _sanitizer.InHandler)
            throw new InvalidOperationException("an SMMU instance cannot be disposed from inside its own fault or sanitizer handler");
        InstanceRegistry.Unregister(_id);   // first: no observer reads the instance from here on
        _disposed = true;
        _translator.Dispose();   // first: takes C's view down
        _pool.Dispose();
        ReleaseSlot();
        GC.SuppressFinalize(this);
    }

    /// <summary>An instance that was never disposed still gives its slot back (its native memory has finalizers of its own).</summary>
    ~SmmuInstance() => ReleaseSlot();

    private void ReleaseSlot()
    {
        if (_slotReleased)
            return;
        _slotReleased = true;
        InstanceSlots.Release(_slot);
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>Internals for tests and benchmarks.</summary>
    internal Tlb TlbForTests => _translator.Tlb;
    internal PagePool PoolForTests => _pool;
}
