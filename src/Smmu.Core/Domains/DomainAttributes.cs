using System.Runtime.InteropServices;
using Smmu.Core.Memory;
using Smmu.Core.PageTables;
using Smmu.Core.Translation;

namespace Smmu.Core.Domains;

/// <summary>
/// The domain attributes (<c>SMMU_ATTR_*</c>) in their C representation, after the Qualcomm driver's
/// DOMAIN_ATTR_* rules and Linux's (io-pgtable quirks, stage selection): what may be set when, what reads
/// back before attach, and their sizes. Values travel in the host's byte order, as a C caller's
/// int32/uint32/uint64 would.
/// <para>GRANULE, SPLIT_TTBR1 and STAGE shape the tables, so they may be set only before the domain's first
/// map and attach (EBUSY after); setting one builds a new, empty root of the new format before the old
/// root goes back to the pool (so a failure changes nothing).</para>
/// </summary>
internal sealed class DomainAttributes
{
    private readonly DomainTable _domains;
    private readonly PageTableMapper _mapper;
    private readonly PagePool _pool;
    private readonly ContextBank[] _banks;
    private readonly SmmuConfig _config;

    public DomainAttributes(DomainTable domains, PageTableMapper mapper, PagePool pool, ContextBank[] banks, in SmmuConfig config)
    {
        _domains = domains;
        _mapper = mapper;
        _pool = pool;
        _banks = banks;
        _config = config;
    }

    /// <summary>The format a domain of <paramref name="stage"/> and granule gets with this instance's ias/oas; false when there is none.</summary>
    public bool TryFormat(int stage, int granuleShift, out TableFormat format) => stage == 2
        ? TableFormat.TryStage2(granuleShift, (int)_config.Ias, (int)_config.Oas, out format)
        : TableFormat.TryStage1(granuleShift, (int)_config.Ias, (int)_config.Oas, out format);

    /// <summary>
    /// Sets an attribute. Errors: Invalid for an unknown attribute, a wrong size, a value out of its set
    /// (DYNAMIC, SPLIT_TTBR1 other than 0/1; a granule other than 4/16/64 KiB; STAGE other than 1/2; a stage
    /// this ias/oas has no table for), CONTEXT_BANK on a domain that is not dynamic or beyond the banks,
    /// an attribute that does not fit the domain (SPLIT_TTBR1 on a dynamic or stage-2 domain, STAGE 2 on a
    /// dynamic, split or nested domain, DYNAMIC on a stage-2 domain, NEST_PARENT on a stage-2 domain or
    /// naming a domain that is not stage 2); BadHandle for a NEST_PARENT that names no live domain;
    /// NotPermitted for the read-only ones; Busy for any attribute on an attached domain, and for the
    /// table-shaping ones once the domain was mapped or attached (its root is fixed from then on); NoMemory
    /// when no pool block is left for the new root. Checks run in the header's order: the value (Invalid,
    /// BadHandle) before the domain's state (Busy).
    /// </summary>
    public int Set(int index, DomainAttribute attribute, ReadOnlySpan<byte> data)
    {
        if (attribute is DomainAttribute.Asid or DomainAttribute.Ttbr0 or DomainAttribute.Ttbr1 or DomainAttribute.Vmid or DomainAttribute.Vttbr)
            return SmmuError.NotPermitted;
        if (attribute is not (DomainAttribute.Dynamic or DomainAttribute.ContextBank or DomainAttribute.ProcId or DomainAttribute.Granule
                              or DomainAttribute.SplitTtbr1 or DomainAttribute.Stage or DomainAttribute.NestParent))
            return SmmuError.Invalid;
        if (data.Length != sizeof(uint))
            return SmmuError.Invalid;
        ref Domain d = ref _domains[index];
        uint value = MemoryMarshal.Read<uint>(data);
        switch (attribute)
        {
            case DomainAttribute.Dynamic:
                if (value > 1 || (value == 1 && (d.IsStage2 || d.SplitTtbr1)))
                    return SmmuError.Invalid;   // a boolean: 0 or 1 only, so a garbage value is caught, not taken for "yes"
                if (d.IsAttached)
                    return SmmuError.Busy;
                d.IsDynamic = value != 0;
                if (!d.IsDynamic)
                    d.RequestedContextBank = -1;   // the bank only means something for a dynamic domain
                return SmmuError.Ok;
            case DomainAttribute.ContextBank:
                if (!d.IsDynamic || value >= _config.NumContextBanks)
                    return SmmuError.Invalid;   // malformed values before the domain's state, as the header orders them
                if (d.IsAttached)
                    return SmmuError.Busy;
                d.RequestedContextBank = (int)value;
                return SmmuError.Ok;
            case DomainAttribute.ProcId:
                if (d.IsAttached)
                    return SmmuError.Busy;
                d.ProcId = value;
                return SmmuError.Ok;
            case DomainAttribute.Granule:
            {
                int shift = Geometry.GranuleShift(value);
                if (shift < 0)
                    return SmmuError.Invalid;
                return Reshape(ref d, d.Format.Stage, shift, d.SplitTtbr1);
            }
            case DomainAttribute.SplitTtbr1:
                if (value > 1 || (value == 1 && (d.IsDynamic || d.IsStage2)))
                    return SmmuError.Invalid;
                return Reshape(ref d, d.Format.Stage, d.GranuleShift, value == 1);
            case DomainAttribute.Stage:
                if (value is not (1 or 2) || (value == 2 && (d.IsDynamic || d.SplitTtbr1 || d.NestParent >= 0 || d.NestChildren > 0)))
                    return SmmuError.Invalid;
                return Reshape(ref d, (int)value, d.GranuleShift, d.SplitTtbr1);
            default:
                return SetNestParent(ref d, index, value);
        }
    }

    /// <summary>
    /// Reads an attribute. Errors: Invalid for an unknown attribute or a wrong size; NoDevice for
    /// CONTEXT_BANK, ASID, TTBR0, TTBR1 before attach and for VMID, VTTBR while the domain translates
    /// through no stage 2; NoEntry for TTBR0 of a split base domain (its tables are in TTBR1).
    /// </summary>
    public int Get(int index, DomainAttribute attribute, Span<byte> data)
    {
        int size = attribute switch
        {
            DomainAttribute.Dynamic or DomainAttribute.ContextBank or DomainAttribute.Asid or DomainAttribute.ProcId
                or DomainAttribute.Granule or DomainAttribute.SplitTtbr1 or DomainAttribute.Stage or DomainAttribute.NestParent
                or DomainAttribute.Vmid => sizeof(uint),
            DomainAttribute.Ttbr0 or DomainAttribute.Ttbr1 or DomainAttribute.Vttbr => sizeof(ulong),
            _ => 0,
        };
        if (size == 0 || data.Length != size)
            return SmmuError.Invalid;
        ref Domain d = ref _domains[index];
        if (attribute is DomainAttribute.ContextBank or DomainAttribute.Asid or DomainAttribute.Ttbr0 or DomainAttribute.Ttbr1 && !d.IsAttached)
            return SmmuError.NoDevice;
        switch (attribute)
        {
            case DomainAttribute.Dynamic:
                return Write32(data, d.IsDynamic ? 1u : 0u);
            case DomainAttribute.ContextBank:
                return Write32(data, (uint)d.ContextBank);
            case DomainAttribute.Asid:
                return Write32(data, d.Asid);
            case DomainAttribute.ProcId:
                return Write32(data, d.ProcId);
            case DomainAttribute.Granule:
                return Write32(data, 1u << d.GranuleShift);
            case DomainAttribute.SplitTtbr1:
                return Write32(data, d.SplitTtbr1 ? 1u : 0u);
            case DomainAttribute.Stage:
                return Write32(data, (uint)d.Format.Stage);
            case DomainAttribute.NestParent:
                return Write32(data, d.NestParentHandle.Value);
            case DomainAttribute.Ttbr0:
                if (d.SplitTtbr1)
                    return SmmuError.NoEntry;
                return Write64(data, ContextBank.TtbrImage(d.IsStage2 ? 0 : d.Root, d.Asid));
            case DomainAttribute.Ttbr1:
            {
                ref ContextBank bank = ref _banks[d.ContextBank];
                return Write64(data, bank.IsSplit ? ContextBank.TtbrImage(bank.Ttbr1, bank.Ttbr1Asid) : 0);
            }
            default:
            {
                // VMID / VTTBR: a stage-2 domain in use, or a domain on a bank with stage 2.
                ushort vmid;
                ulong root;
                if (d.IsStage2 && d.Vmid != 0)
                    (vmid, root) = (d.Vmid, d.Root);
                else if (d.IsAttached && _banks[d.ContextBank].Regime != TranslationRegime.Stage1)
                    (vmid, root) = (_banks[d.ContextBank].Vmid, _banks[d.ContextBank].Vttbr);
                else
                    return SmmuError.NoDevice;
                return attribute == DomainAttribute.Vmid ? Write32(data, vmid) : Write64(data, ContextBank.VttbrImage(root, vmid));
            }
        }
    }

    /// <summary>Gives a domain a new table format: a new, empty root first, then the old one back to the pool.</summary>
    private int Reshape(ref Domain d, int stage, int granuleShift, bool splitTtbr1)
    {
        if (!TryFormat(stage, granuleShift, out TableFormat format))
            return SmmuError.Invalid;
        if (d.IsAttached || d.RootFixed)
            return SmmuError.Busy;   // the root's address is fixed from the first map or attach on
        if (!_mapper.TryCreateRoot(format, out ulong root))
            return SmmuError.NoMemory;
        _pool.Free(d.Root);   // empty: no valid descriptor
        d.Root = root;
        d.Format = format;
        d.GranuleShift = granuleShift;
        d.SplitTtbr1 = splitTtbr1;
        return SmmuError.Ok;
    }

    private int SetNestParent(ref Domain d, int index, uint value)
    {
        if (d.IsStage2)
            return SmmuError.Invalid;
        int parent = -1;
        if (value != 0)
        {
            if (!_domains.TryResolve(new DomainHandle(value), out parent))
                return SmmuError.BadHandle;
            if (parent == index || !_domains[parent].IsStage2)
                return SmmuError.Invalid;
        }
        if (d.IsAttached)
            return SmmuError.Busy;   // after the value's checks: handles and malformed values come before state
        if (d.NestParent >= 0)
            _domains[d.NestParent].NestChildren--;
        d.NestParent = parent;
        d.NestParentHandle = new DomainHandle(value);
        if (parent >= 0)
            _domains[parent].NestChildren++;
        return SmmuError.Ok;
    }

    private static int Write32(Span<byte> data, uint value)
    {
        MemoryMarshal.Write(data, in value);
        return SmmuError.Ok;
    }

    private static int Write64(Span<byte> data, ulong value)
    {
        MemoryMarshal.Write(data, in value);
        return SmmuError.Ok;
    }
}
