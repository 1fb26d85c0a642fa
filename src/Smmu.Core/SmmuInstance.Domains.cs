using Smmu.Core.Domains;

namespace Smmu.Core;

/// <summary>smmu.h "Domains": allocation and attachment (attributes are in SmmuInstance.Attributes.cs).</summary>
public sealed partial class SmmuInstance
{
    /// <summary>
    /// Allocates a domain with an empty root table (<c>iommu_domain_alloc</c>). Returns
    /// <see cref="SmmuError.NoMemory"/> when the pool has no page for the root.
    /// </summary>
    public int DomainAlloc(out DomainHandle domain)
    {
        ThrowIfDisposed();
        domain = default;
        if (!_mapper.TryCreateRoot(out ulong root))
            return SmmuError.NoMemory;
        if (!_domains.TryAdd(out int index, out domain))
        {
            _pool.Free(root);
            return SmmuError.NoMemory;
        }
        _domains[index].Root = root;
        return SmmuError.Ok;
    }

    /// <summary>Frees a domain and all its tables. <see cref="SmmuError.Busy"/> while attached.</summary>
    public int DomainFree(DomainHandle domain)
    {
        ThrowIfDisposed();
        if (!_domains.TryResolve(domain, out int index))
            return SmmuError.BadHandle;
        ref Domain d = ref _domains[index];
        if (d.IsAttached)
            return SmmuError.Busy;
        _mapper.FreeAll(d.Root);
        _domains.Remove(index);
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
    /// Attaches a domain to a stream ID (<c>iommu_attach_device</c>): a base domain claims a context bank,
    /// a dynamic domain takes an ASID on its base's bank (see <see cref="Attachments.Attach"/>).
    /// Errors: BadHandle; Invalid (stream out of range); Busy (stream already routed, dynamic domain
    /// already attached); NoDevice (dynamic domain without CONTEXT_BANK, or no base domain holds that
    /// bank for the stream); NoSpace (no free context bank or ASID).
    /// </summary>
    public int AttachDevice(DomainHandle domain, uint streamId)
    {
        ThrowIfDisposed();
        if (!_domains.TryResolve(domain, out int index))
            return SmmuError.BadHandle;
        if (streamId >= _config.NumStreamIds)
            return SmmuError.Invalid;
        return _attachments.Attach(index, domain, streamId);
    }

    /// <summary>
    /// Detaches a domain from a stream ID (<c>iommu_detach_device</c>; see <see cref="Attachments.Detach"/>).
    /// Errors: BadHandle; Invalid (stream out of range); NoDevice (not attached through that stream);
    /// Busy (a base domain while dynamic domains are attached on its bank — seed constraint 1).
    /// </summary>
    public int DetachDevice(DomainHandle domain, uint streamId)
    {
        ThrowIfDisposed();
        if (!_domains.TryResolve(domain, out int index))
            return SmmuError.BadHandle;
        if (streamId >= _config.NumStreamIds)
            return SmmuError.Invalid;
        return _attachments.Detach(index, streamId);
    }
}
