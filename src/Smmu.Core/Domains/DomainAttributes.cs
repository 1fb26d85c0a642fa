using System.Runtime.InteropServices;

namespace Smmu.Core.Domains;

/// <summary>
/// The domain attributes (<c>SMMU_ATTR_*</c>) in their C representation, after the Qualcomm driver's
/// DOMAIN_ATTR_* rules: what may be set when, what reads back before attach, and their sizes.
/// Values travel in the host's byte order, as a C caller's int32/uint32/uint64 would.
/// </summary>
internal static class DomainAttributes
{
    /// <summary>
    /// Sets an attribute. Errors: Invalid for an unknown attribute, a wrong size, DYNAMIC other than 0 or
    /// 1, CONTEXT_BANK on a domain that is not dynamic or beyond the banks; NotPermitted for the read-only ASID and TTBR0; Busy for
    /// DYNAMIC, CONTEXT_BANK or PROCID on an attached domain.
    /// </summary>
    public static int Set(ref Domain d, DomainAttribute attribute, ReadOnlySpan<byte> data, uint contextBanks)
    {
        if (attribute is DomainAttribute.Asid or DomainAttribute.Ttbr0)
            return SmmuError.NotPermitted;
        if (attribute is not (DomainAttribute.Dynamic or DomainAttribute.ContextBank or DomainAttribute.ProcId))
            return SmmuError.Invalid;
        if (data.Length != sizeof(uint))
            return SmmuError.Invalid;
        if (d.IsAttached)
            return SmmuError.Busy;
        uint value = MemoryMarshal.Read<uint>(data);
        switch (attribute)
        {
            case DomainAttribute.Dynamic:
                if (value > 1)
                    return SmmuError.Invalid;   // a boolean: 0 or 1 only, so a garbage value is caught, not taken for "yes"
                d.IsDynamic = value != 0;
                if (!d.IsDynamic)
                    d.RequestedContextBank = -1;   // the bank only means something for a dynamic domain
                return SmmuError.Ok;
            case DomainAttribute.ContextBank:
                if (!d.IsDynamic || value >= contextBanks)
                    return SmmuError.Invalid;
                d.RequestedContextBank = (int)value;
                return SmmuError.Ok;
            default:
                d.ProcId = value;
                return SmmuError.Ok;
        }
    }

    /// <summary>
    /// Reads an attribute. Errors: Invalid for an unknown attribute or a wrong size; NoDevice for
    /// CONTEXT_BANK, ASID or TTBR0 before attach.
    /// </summary>
    public static int Get(in Domain d, DomainAttribute attribute, Span<byte> data)
    {
        int size = attribute switch
        {
            DomainAttribute.Dynamic or DomainAttribute.ContextBank or DomainAttribute.Asid or DomainAttribute.ProcId => sizeof(uint),
            DomainAttribute.Ttbr0 => sizeof(ulong),
            _ => 0,
        };
        if (size == 0 || data.Length != size)
            return SmmuError.Invalid;
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

    private static void Write32(Span<byte> data, uint value) => MemoryMarshal.Write(data, in value);
}
