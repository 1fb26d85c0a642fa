using System.Runtime.InteropServices;
using Smmu.Core.Domains;

namespace Smmu.Core;

/// <summary>smmu.h "Domains", attributes: <c>smmu_domain_set_attr</c> / <c>get_attr</c> and typed helpers.</summary>
public sealed partial class SmmuInstance
{
    /// <summary>
    /// Sets an attribute from its C representation (<c>iommu_domain_set_attr</c>); the rules are
    /// <see cref="DomainAttributes.Set"/>'s. Errors: BadHandle; Invalid; NotPermitted (read-only); Busy
    /// (attached, or a table-shaping attribute after the first map); NoMemory.
    /// </summary>
    public int SetAttribute(DomainHandle domain, DomainAttribute attribute, ReadOnlySpan<byte> data)
    {
        ThrowIfDisposed();
        if (!_domains.TryResolve(domain, out int index))
            return SmmuError.BadHandle;
        return _attributes.Set(index, attribute, data);
    }

    /// <summary>
    /// Reads an attribute in its C representation (<c>iommu_domain_get_attr</c>; see <see cref="DomainAttributes.Get"/>).
    /// Errors: BadHandle; Invalid for an unknown attribute or a wrong size; NoDevice for CONTEXT_BANK,
    /// ASID, TTBR0, TTBR1 before attach (and VMID, VTTBR without stage 2); NoEntry for a split base domain's TTBR0.
    /// </summary>
    public int GetAttribute(DomainHandle domain, DomainAttribute attribute, Span<byte> data)
    {
        ThrowIfDisposed();
        if (!_domains.TryResolve(domain, out int index))
            return SmmuError.BadHandle;
        return _attributes.Get(index, attribute, data);
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
    public int GetTtbr0(DomainHandle domain, out ulong ttbr0) => GetUInt64(domain, DomainAttribute.Ttbr0, out ttbr0);

    /// <summary>Sets GRANULE: 4096, 16384 or 65536 bytes (see <see cref="SetAttribute"/>).</summary>
    public int SetGranule(DomainHandle domain, uint bytes) => SetUInt32(domain, DomainAttribute.Granule, bytes);

    /// <summary>Sets SPLIT_TTBR1 on a base domain: its tables become the bank's TTBR1 half.</summary>
    public int SetSplitTtbr1(DomainHandle domain, bool split) => SetUInt32(domain, DomainAttribute.SplitTtbr1, split ? 1u : 0u);

    /// <summary>Sets STAGE: 1 or 2.</summary>
    public int SetStage(DomainHandle domain, uint stage) => SetUInt32(domain, DomainAttribute.Stage, stage);

    /// <summary>Sets NEST_PARENT: the stage-2 domain a stage-1 domain's bank translates through (<see cref="DomainHandle.None"/>: none).</summary>
    public int SetNestParent(DomainHandle domain, DomainHandle stage2) => SetUInt32(domain, DomainAttribute.NestParent, stage2.Value);

    /// <summary>Reads the TTBR1 image of the domain's bank (NoDevice before attach; 0 for a bank that is not split).</summary>
    public int GetTtbr1(DomainHandle domain, out ulong ttbr1) => GetUInt64(domain, DomainAttribute.Ttbr1, out ttbr1);

    /// <summary>Reads the VMID (NoDevice without stage 2 in use).</summary>
    public int GetVmid(DomainHandle domain, out uint vmid) => GetUInt32(domain, DomainAttribute.Vmid, out vmid);

    /// <summary>Reads the VTTBR image (NoDevice without stage 2 in use).</summary>
    public int GetVttbr(DomainHandle domain, out ulong vttbr) => GetUInt64(domain, DomainAttribute.Vttbr, out vttbr);

    private int SetUInt32(DomainHandle domain, DomainAttribute attribute, uint value) =>
        SetAttribute(domain, attribute, MemoryMarshal.AsBytes(new ReadOnlySpan<uint>(in value)));

    private int GetUInt32(DomainHandle domain, DomainAttribute attribute, out uint value)
    {
        value = 0;
        return GetAttribute(domain, attribute, MemoryMarshal.AsBytes(new Span<uint>(ref value)));
    }

    private int GetUInt64(DomainHandle domain, DomainAttribute attribute, out ulong value)
    {
        value = 0;
        return GetAttribute(domain, attribute, MemoryMarshal.AsBytes(new Span<ulong>(ref value)));
    }
}
