using System.Runtime.InteropServices;
using Smmu.Core.Domains;

namespace Smmu.Core;

/// <summary>smmu.h "Domains", attributes: <c>smmu_domain_set_attr</c> / <c>get_attr</c> and typed helpers.</summary>
public sealed partial class SmmuInstance
{
    /// <summary>
    /// Sets an attribute from its C representation (<c>iommu_domain_set_attr</c>). Errors:
    /// BadHandle; Invalid for an unknown attribute, a wrong size, CONTEXT_BANK on a domain that is not
    /// dynamic or beyond the banks; NotPermitted for the read-only ASID and TTBR0; Busy for DYNAMIC,
    /// CONTEXT_BANK or PROCID on an attached domain.
    /// </summary>
    public int SetAttribute(DomainHandle domain, DomainAttribute attribute, ReadOnlySpan<byte> data)
    {
        ThrowIfDisposed();
        if (!_domains.TryResolve(domain, out int index))
            return SmmuError.BadHandle;
        return DomainAttributes.Set(ref _domains[index], attribute, data, _config.NumContextBanks);
    }

    /// <summary>
    /// Reads an attribute in its C representation (<c>iommu_domain_get_attr</c>). Errors: BadHandle;
    /// Invalid for an unknown attribute or a wrong size; NoDevice for CONTEXT_BANK, ASID or TTBR0
    /// before attach.
    /// </summary>
    public int GetAttribute(DomainHandle domain, DomainAttribute attribute, Span<byte> data)
    {
        ThrowIfDisposed();
        if (!_domains.TryResolve(domain, out int index))
            return SmmuError.BadHandle;
        return DomainAttributes.Get(_domains[index], attribute, data);
    }

    /// <summary>Sets DYNAMIC (see <see cref="SetAttribute"/>).</summary>
    public int SetDynamic(DomainHandle domain, bool dynamic) => SetUInt32(domain, DomainAttribute.Dynamic, dynamic ? 1u : 0u);

    /// <summary>Sets CONTEXT_BANK on a dynamic domain (see <see cref="SetAttribute"/>).</summary>
    public int SetContextBank(DomainHandle domain, uint contextBank) => SetUInt32(domain, DomainAttribute.ContextBank, contextBank);

    /// <summary>Sets PROCID (see <see cref="SetAttribute"/>).</summary>
    public int SetProcId(DomainHandle domain, uint procId) => SetUInt32(domain, DomainAttribute.ProcId, procId);

    /// <summary>Reads DYNAMIC.</summary>
    public int GetDynamic(DomainHandle domain, out bool dynamic)
    {
        int rc = GetUInt32(domain, DomainAttribute.Dynamic, out uint value);
        dynamic = value != 0;
        return rc;
    }

    /// <summary>Reads CONTEXT_BANK: the bank the domain is attached on (NoDevice before attach).</summary>
    public int GetContextBank(DomainHandle domain, out uint contextBank) => GetUInt32(domain, DomainAttribute.ContextBank, out contextBank);

    /// <summary>Reads ASID (NoDevice before attach).</summary>
    public int GetAsid(DomainHandle domain, out uint asid) => GetUInt32(domain, DomainAttribute.Asid, out asid);

    /// <summary>Reads PROCID.</summary>
    public int GetProcId(DomainHandle domain, out uint procId) => GetUInt32(domain, DomainAttribute.ProcId, out procId);

    /// <summary>Reads the TTBR0 image (NoDevice before attach).</summary>
    public int GetTtbr0(DomainHandle domain, out ulong ttbr0)
    {
        ttbr0 = 0;
        return GetAttribute(domain, DomainAttribute.Ttbr0, MemoryMarshal.AsBytes(new Span<ulong>(ref ttbr0)));
    }

    private int SetUInt32(DomainHandle domain, DomainAttribute attribute, uint value) =>
        SetAttribute(domain, attribute, MemoryMarshal.AsBytes(new ReadOnlySpan<uint>(in value)));

    private int GetUInt32(DomainHandle domain, DomainAttribute attribute, out uint value)
    {
        value = 0;
        return GetAttribute(domain, attribute, MemoryMarshal.AsBytes(new Span<uint>(ref value)));
    }
}
