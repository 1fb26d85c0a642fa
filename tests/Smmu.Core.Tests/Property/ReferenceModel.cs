namespace Smmu.Core.Tests.Property;

/// <summary>
/// The reference the model is compared with: what a base domain and three dynamic domains on one stream
/// should do, written from <c>docs/design.md</c> and the ARM ARM without any of the model's code. It knows
/// no TLB — a correct TLB is invisible, so the tables are the whole truth — no handles and no ASID numbers
/// (the runner maps slots to handles). Every method predicts the result code the model must return and,
/// when that is success, makes the change.
/// <para>Extensions: TTBR1 and stage 2 add <see cref="ReferenceTable"/>s per slot and compose them in
/// <see cref="Translate"/>; deferred invalidation keeps the pre-unmap leaves until the sync and offers
/// them as further <see cref="Outcomes"/>.</para>
/// </summary>
internal sealed class ReferenceModel
{
    /// <summary>Domain slots: 0 is the base domain (always attached), 1..3 dynamic domains on its bank.</summary>
    public const int Slots = 4;
    public const int BaseSlot = 0;

    private const SmmuAccess AccessKinds = SmmuAccess.Read | SmmuAccess.Write | SmmuAccess.Exec;

    private readonly ReferenceGeometry _geometry;
    private readonly ReferenceTable[] _tables = new ReferenceTable[Slots];
    private readonly bool[] _attached = new bool[Slots];
    private readonly uint _asidLimit;

    public ReferenceModel(uint ias, uint oas, uint asidBits, ReferenceGeometry geometry)
    {
        _geometry = geometry;
        InputLimit = 1UL << (int)ias;
        OutputLimit = 1UL << (int)oas;
        _asidLimit = (1u << (int)asidBits) - 1;
        StartLevel = geometry.StartLevel((int)ias);
        for (int slot = 0; slot < Slots; slot++)
        {
            _tables[slot] = new ReferenceTable(geometry, StartLevel);
            _attached[slot] = true;   // the run starts with all four attached, the base active
        }
    }

    public ulong InputLimit { get; }

    public ulong OutputLimit { get; }

    public int StartLevel { get; }

    /// <summary>The slot the context bank points at.</summary>
    public int Active { get; private set; } = BaseSlot;

    public bool IsAttached(int slot) => _attached[slot];

    public ReferenceTable Table(int slot) => _tables[slot];

    // ---- mappings -------------------------------------------------------------------------------

    /// <summary>
    /// <c>map</c>: Invalid (size 0, not page-aligned, neither READ nor WRITE, an unknown bit), then Range
    /// (beyond 2^ias or 2^oas), then Exists (any page already mapped); otherwise every page is mapped and
    /// <paramref name="leaves"/> counts the leaves per level.
    /// </summary>
    public int Map(int slot, ulong iova, ulong pa, ulong size, SmmuProt prot, out int[] leaves)
    {
        leaves = [];
        if (size == 0 || ((iova | pa | size) & (_geometry.PageSize - 1)) != 0
            || (prot & (SmmuProt.Read | SmmuProt.Write)) == 0 || (prot & ~SmmuProt.All) != 0)
            return SmmuError.Invalid;
        if (iova >= InputLimit || size > InputLimit - iova || pa >= OutputLimit || size > OutputLimit - pa)
            return SmmuError.Range;
        if (_tables[slot].AnyMapped(iova, size))
            return SmmuError.Exists;
        leaves = _tables[slot].Add(iova, pa, size, prot);
        return SmmuError.Ok;
    }

    /// <summary><c>unmap</c>: Invalid (size 0, not page-aligned), Range (beyond 2^ias), else the bytes that were mapped.</summary>
    public long Unmap(int slot, ulong iova, ulong size, out int splits)
    {
        splits = 0;
        if (size == 0 || ((iova | size) & (_geometry.PageSize - 1)) != 0)
            return SmmuError.Invalid;
        if (iova >= InputLimit || size > InputLimit - iova)
            return SmmuError.Range;
        return (long)_tables[slot].Remove(iova, size, out splits);
    }

    /// <summary><c>iova_to_phys</c>: any leaf's output whatever its permissions; Range beyond 2^ias, NoEntry where nothing is mapped.</summary>
    public Outcome IovaToPhys(int slot, ulong iova)
    {
        if (iova >= InputLimit)
            return Outcome.Failed(SmmuError.Range);
        return _tables[slot].TryGet(iova, out var leaf) ? Outcome.Translated(leaf.Pa) : Outcome.Failed(SmmuError.NoEntry);
    }

    // ---- translation ----------------------------------------------------------------------------

    /// <summary>
    /// A transaction through the stream, in the active domain. Invalid for no access kind or an unknown
    /// bit; beyond 2^ias a level-0 translation fault; an unmapped page a translation fault where the walk
    /// stops; a leaf that refuses the access a permission fault at the leaf's level.
    /// </summary>
    public Outcomes Translate(ulong iova, SmmuAccess access)
    {
        if ((access & AccessKinds) == 0 || (access & ~SmmuAccess.All) != 0)
            return Outcome.Failed(SmmuError.Invalid);
        if (iova >= InputLimit)
            return Outcome.Faulted(FaultType.Translation, 0);
        ReferenceTable table = _tables[Active];
        if (!table.TryGet(iova, out var leaf))
            return Outcome.Faulted(FaultType.Translation, (uint)table.TranslationFaultLevel(iova));
        if (!Allowed(leaf.Prot, access))
            return Outcome.Faulted(FaultType.Permission, (uint)leaf.Level);
        return Outcome.Translated(leaf.Pa);
    }

    /// <summary>
    /// VMSAv8-64 stage-1 permissions of an io-pgtable-arm mapping, from the prot flags: every mapping is
    /// readable privileged; PRIV takes unprivileged data access away (AP[1] clear); WRITE gives write
    /// (AP[2] clear) at the levels that may read; NOEXEC forbids every fetch (UXN and PXN). AP[1] does not
    /// gate instruction fetch, so a privileged-only mapping stays executable unprivileged (EL0
    /// execute-only); a privileged fetch from memory writable unprivileged is refused (implicit PXN).
    /// </summary>
    public static bool Allowed(SmmuProt prot, SmmuAccess access)
    {
        bool privileged = (access & SmmuAccess.Priv) != 0;
        bool unprivilegedData = (prot & SmmuProt.Priv) == 0;
        bool writable = (prot & SmmuProt.Write) != 0;
        if ((access & SmmuAccess.Read) != 0 && !privileged && !unprivilegedData)
            return false;
        if ((access & SmmuAccess.Write) != 0 && !(writable && (privileged || unprivilegedData)))
            return false;
        if ((access & SmmuAccess.Exec) != 0)
        {
            if ((prot & SmmuProt.NoExec) != 0)
                return false;
            if (privileged && writable && unprivilegedData)
                return false;
        }
        return true;
    }

    // ---- attachments (seed rules) ---------------------------------------------------------------

    /// <summary><c>switch_domain</c>: NoDevice for a detached domain.</summary>
    public int Switch(int slot)
    {
        if (!_attached[slot])
            return SmmuError.NoDevice;
        Active = slot;
        return SmmuError.Ok;
    }

    /// <summary>Attaching a dynamic domain again: Busy while it is attached.</summary>
    public int Attach(int slot)
    {
        if (_attached[slot])
            return SmmuError.Busy;
        _attached[slot] = true;
        return SmmuError.Ok;
    }

    /// <summary>Detaching a dynamic domain: NoDevice when it is not attached; if it was active the bank falls back to the base (seed rule 3).</summary>
    public int Detach(int slot)
    {
        if (!_attached[slot])
            return SmmuError.NoDevice;
        _attached[slot] = false;
        if (Active == slot)
            Active = BaseSlot;
        return SmmuError.Ok;
    }

    // ---- TLB maintenance: invisible to a correct model, so only the arguments matter ---------------

    public int InvalidateAsid(uint asid) => asid > _asidLimit ? SmmuError.Invalid : SmmuError.Ok;

    public int InvalidateVa(uint asid, ulong iova, ulong size) =>
        asid > _asidLimit || !IsRange(iova, size) ? SmmuError.Invalid : SmmuError.Ok;

    public int InvalidateVaAll(ulong iova, ulong size) => IsRange(iova, size) ? SmmuError.Ok : SmmuError.Invalid;

    /// <summary>Non-empty and not wrapping around 2^64.</summary>
    private static bool IsRange(ulong iova, ulong size) => size != 0 && iova + (size - 1) >= iova;
}
