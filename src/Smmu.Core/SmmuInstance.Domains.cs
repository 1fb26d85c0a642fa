using Smmu.Core.Domains;
using Smmu.Core.PageTables;

namespace Smmu.Core;

/// <summary>smmu.h "Domains": allocation and attachment (attributes are in SmmuInstance.Attributes.cs).</summary>
public sealed partial class SmmuInstance
{
    /// <summary>
    /// Allocates a stage-1 domain with the 4 KiB granule and an empty root table (<c>iommu_domain_alloc</c>);
    /// GRANULE, STAGE and SPLIT_TTBR1 may change that before its first map or attach. Returns
    /// <see cref="SmmuError.NoMemory"/> when the pool has no page for the root.
    /// </summary>
    public int DomainAlloc(out DomainHandle domain)
    {
        ThrowIfDisposed();
        domain = default;
        _attributes.TryFormat(1, Geometry.Granule4K, out TableFormat format);
        if (!_mapper.TryCreateRoot(format, out ulong root))
            return SmmuError.NoMemory;
        if (!_domains.TryAdd(out int index, out domain))
        {
            _pool.Free(root);
            return SmmuError.NoMemory;
        }
        ref Domain d = ref _domains[index];
        d.Root = root;
        d.Format = format;
        d.GranuleShift = Geometry.Granule4K;
        return SmmuError.Ok;
    }

    /// <summary>
    /// Frees a domain and all its tables. Errors: BadHandle; Busy while attached, and for a stage-2 domain
    /// that stage-1 domains still name as NEST_PARENT. A freed domain's global entries are invalidated
    /// (its non-global ones went with its ASID at detach). A gather of it still pending is a missed sync
    /// (<see cref="SmmuStaleKind.MissedSync"/>): reported, and done.
    /// </summary>
    public int DomainFree(DomainHandle domain)
    {
        ThrowIfDisposed();
        if (!_domains.TryResolve(domain, out int index))
            return SmmuError.BadHandle;
        ref Domain d = ref _domains[index];
        if (d.IsAttached || d.NestChildren > 0)
            return SmmuError.Busy;
        if (_mapper.FreeAll(d.Format, d.Root))
            _translator.InvalidateVa(0, d.InputBase, d.InputBase + (d.Format.InputLimit - 1), 0, anyVmid: true);   // its global entries
        _attachments.Forget(ref d);
        Domain freed = d;
        _domains.Remove(index);
        _maintenance.SettleMissedSyncs(domain, freed, SmmuStaleReport.NoContextBank, 0, 0);   // last: its reports may call back in
        return SmmuError.Ok;
    }

    /// <summary>Domains allocated.</summary>
    public int DomainCount
    {
        get
        {
            ThrowIfDisposed();
            return _domains.Count;
        }
    }

    /// <summary>
    /// Attaches a domain to a stream ID (<c>iommu_attach_device</c>): a base domain claims a context bank
    /// (split, stage 2 or nested as its attributes say), a dynamic domain takes an ASID on its base's bank
    /// (see <see cref="Attachments.Attach"/>). Errors: BadHandle; Invalid (stream out of range, a dynamic
    /// domain that does not fit its bank); Busy (stream already routed, dynamic domain already attached);
    /// NoDevice (dynamic domain without CONTEXT_BANK, or no base domain holds that bank for the stream);
    /// NoSpace (no free context bank, ASID or VMID).
    /// </summary>
    public int AttachDevice(DomainHandle domain, uint streamId)
    {
        ThrowIfDisposed();
        if (!_domains.TryResolve(domain, out int index))
            return SmmuError.BadHandle;
        if (streamId >= _config.NumStreamIds)
            return SmmuError.Invalid;
        int rc = _attachments.Attach(index, domain, streamId);
        _domains[index].RootFixed |= rc == SmmuError.Ok;
        return rc;
    }

    /// <summary>
    /// Detaches a domain from a stream ID (<c>iommu_detach_device</c>; see <see cref="Attachments.Detach"/>).
    /// Errors: BadHandle; Invalid (stream out of range); NoDevice (not attached through that stream);
    /// Busy (a base domain while dynamic domains are attached on its bank — seed constraint 1). When the domain
    /// is left unused, a gather of it still pending is a missed sync (<see cref="SmmuStaleKind.MissedSync"/>): reported, and done.
    /// </summary>
    public int DetachDevice(DomainHandle domain, uint streamId)
    {
        ThrowIfDisposed();
        if (!_domains.TryResolve(domain, out int index))
            return SmmuError.BadHandle;
        if (streamId >= _config.NumStreamIds)
            return SmmuError.Invalid;
        ref Domain d = ref _domains[index];
        uint bank = d.IsAttached ? (uint)d.ContextBank : SmmuStaleReport.NoContextBank;
        uint asid = d.Asid, vmid = d.IsAttached ? _translator.Banks[d.ContextBank].Vmid : d.Vmid;
        int rc = _attachments.Detach(index, streamId);
        d = ref _domains[index];
        if (rc == SmmuError.Ok && !(d.IsStage2 ? d.Stage2Users > 0 : d.IsAttached))
            _maintenance.SettleMissedSyncs(domain, d, bank, asid, vmid);   // last: its reports may call back in
        return rc;
    }
}
