using System.Runtime.InteropServices;
using Smmu.Core.Domains;

namespace Smmu.Core;

public sealed partial class SmmuInstance
{
    /// <summary>
    /// Allocates a domain with an empty root table (<c>iommu_domain_alloc</c>). Returns
    /// <see cref="SmmuError.NoMemory"/> when the pool has no page for the root.
    /// </summary>
    public int DomainAlloc(out DomainHandle domain)
    {
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
    public int DomainCount => _domains.Count;

    /// <summary>
    /// Sets an attribute from its C representation (<c>iommu_domain_set_attr</c>). Errors:
    /// BadHandle; Invalid for an unknown attribute, a wrong size, CONTEXT_BANK on a domain that is not
    /// dynamic or beyond the banks; NotPermitted for the read-only ASID and TTBR0; Busy for DYNAMIC,
    /// CONTEXT_BANK or PROCID on an attached domain.
    /// </summary>
    public int SetAttribute(DomainHandle domain, DomainAttribute attribute, ReadOnlySpan<byte> data)
    {
        if (!_domains.TryResolve(domain, out int index))
            return SmmuError.BadHandle;
        if (attribute is DomainAttribute.Asid or DomainAttribute.Ttbr0)
            return SmmuError.NotPermitted;
        if (attribute is not (DomainAttribute.Dynamic or DomainAttribute.ContextBank or DomainAttribute.ProcId))
            return SmmuError.Invalid;
        if (data.Length != sizeof(uint))
            return SmmuError.Invalid;
        ref Domain d = ref _domains[index];
        if (d.IsAttached)
            return SmmuError.Busy;
        uint value = MemoryMarshal.Read<uint>(data);
        switch (attribute)
        {
            case DomainAttribute.Dynamic:
                d.IsDynamic = value != 0;
                if (!d.IsDynamic)
                    d.RequestedContextBank = -1;   // the bank only means something for a dynamic domain
                return SmmuError.Ok;
            case DomainAttribute.ContextBank:
                if (!d.IsDynamic || value >= _config.NumContextBanks)
                    return SmmuError.Invalid;
                d.RequestedContextBank = (int)value;
                return SmmuError.Ok;
            default:
                d.ProcId = value;
                return SmmuError.Ok;
        }
    }

    /// <summary>
    /// Reads an attribute in its C representation (<c>iommu_domain_get_attr</c>). Errors: BadHandle;
    /// Invalid for an unknown attribute or a wrong size; NoDevice for CONTEXT_BANK, ASID or TTBR0
    /// before attach.
    /// </summary>
    public int GetAttribute(DomainHandle domain, DomainAttribute attribute, Span<byte> data)
    {
        if (!_domains.TryResolve(domain, out int index))
            return SmmuError.BadHandle;
        int size = attribute switch
        {
            DomainAttribute.Dynamic or DomainAttribute.ContextBank or DomainAttribute.Asid or DomainAttribute.ProcId => sizeof(uint),
            DomainAttribute.Ttbr0 => sizeof(ulong),
            _ => 0,
        };
        if (size == 0 || data.Length != size)
            return SmmuError.Invalid;
        ref Domain d = ref _domains[index];
        if (attribute is DomainAttribute.ContextBank or DomainAttribute.Asid or DomainAttribute.Ttbr0 && !d.IsAttached)
            return SmmuError.NoDevice;
        switch (attribute)
        {
            case DomainAttribute.Dynamic:
                Write32(data, d.IsDynamic ? 1u : 0u);
                break;
            case DomainAttribute.ContextBank:
                Write32(data, (uint)d.ContextBank);
                break;
            case DomainAttribute.Asid:
                Write32(data, d.Asid);
                break;
            case DomainAttribute.ProcId:
                Write32(data, d.ProcId);
                break;
            default:
                ulong ttbr0 = ContextBankState.Ttbr0Image(d.Root, d.Asid);
                MemoryMarshal.Write(data, in ttbr0);
                break;
        }
        return SmmuError.Ok;
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

    /// <summary>Reads CONTEXT_BANK (NoDevice before attach).</summary>
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

    // Attributes travel in the host's byte order, as a C caller's int32/uint32/uint64 would.
    private static void Write32(Span<byte> data, uint value) => MemoryMarshal.Write(data, in value);

    private int SetUInt32(DomainHandle domain, DomainAttribute attribute, uint value) =>
        SetAttribute(domain, attribute, MemoryMarshal.AsBytes(new ReadOnlySpan<uint>(in value)));

    private int GetUInt32(DomainHandle domain, DomainAttribute attribute, out uint value)
    {
        value = 0;
        return GetAttribute(domain, attribute, MemoryMarshal.AsBytes(new Span<uint>(ref value)));
    }
}
