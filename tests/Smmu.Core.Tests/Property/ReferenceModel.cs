namespace Smmu.Core.Tests.Property;

/// <summary>
/// Where the stage-1 tables sit in simulated memory, for predicting a nested walk's table fetches: the root
/// of a slot's tree, and 8 bytes of memory. Which pool frames hold which table is the allocator's choice;
/// the reference decides how deep a walk goes and only reads there the addresses of the tables on the way.
/// </summary>
internal interface ITableMemory
{
    ulong RootOf(int slot);

    ulong Read64(ulong pa);
}

/// <summary>Raised when the model's memory does not hold the table the reference's walk needs (the tables disagree).</summary>
internal sealed class ReferenceMismatchException(string message) : Exception(message);

/// <summary>
/// The reference the model is compared with: what a base domain and three dynamic domains on one stream
/// should do — and in a stage-2 run a stage-2 domain (slot <see cref="Stage2Slot"/>), the base's
/// NEST_PARENT and also attached alone on a second stream — written from <c>docs/design.md</c>,
/// <c>smmu.h</c> and the ARM ARM without any of the model's code. It has no handles or ASID numbers (the
/// runner maps slots to handles), and knows of the TLB only what the architecture lets a caller see:
/// <list type="bullet">
/// <item>every change that could leave a stale non-global entry invalidates it, so the tables are the
/// truth (<see cref="ReferenceTable"/>s: a stage-1 tree per slot, the base's being the TTBR1 half of a
/// split bank; the stage-2 tree IPA → PA, composed with stage 1 in a nested walk);</item>
/// <item>a global (nG = 0) entry matches every ASID of the bank, so once a translation went through a
/// global leaf, another domain may get that translation for the same address until an invalidation
/// reaches it. <see cref="_cachedGlobals"/> keeps those that may still be cached; a translation accepts the
/// truth, or the outcome of any of them that covers its address.</item>
/// </list>
/// Every method predicts the outcome the model must return and, when that is success, makes the change.
/// </summary>
internal sealed class ReferenceModel
{
    /// <summary>Stage-1 domain slots: 0 is the base domain (always attached), 1..3 dynamic domains on its bank.</summary>
    public const int Slots = 4;
    public const int BaseSlot = 0;
    /// <summary>The stage-2 domain of a stage-2 run.</summary>
    public const int Stage2Slot = 4;
    /// <summary>The dynamic domain a split bank starts with active.</summary>
    public const int FirstProcessSlot = 1;

    private const SmmuAccess AccessKinds = SmmuAccess.Read | SmmuAccess.Write | SmmuAccess.Exec;
    private const string CachedGlobalReason = "a global entry cached from earlier tables";

    /// <summary>
    /// A global translation the TLB may hold: the block of input addresses it covers (one leaf, or for
    /// nesting the smaller of the two stages' leaves), its output, what each stage's prot allows, and the
    /// stage-1 leaf's level (a permission fault from a hit reports it). All belong to the run's one stage-1
    /// bank and its VMID (a nested run's stage-2 VMID, else 0).
    /// </summary>
    internal readonly record struct CachedGlobal(ulong Base, int Shift, ulong Pa, SmmuProt Stage1, SmmuProt? Stage2, int Level)
    {
        public ulong Last => Base + ((1UL << Shift) - 1);

        public bool Covers(ulong va) => va - Base < 1UL << Shift;

        public bool Overlaps(ulong first, ulong last) => Base <= last && first <= Last;

        public bool Allows(SmmuAccess access) => Allowed(Stage1, access) && (Stage2 is not SmmuProt s2 || Stage2Allowed(s2, access));
    }

    private readonly ReferenceGeometry _geometry;
    private readonly ReferenceTable[] _tables = new ReferenceTable[Slots + 1];
    private readonly bool[] _attached = new bool[Slots];
    private readonly uint _asidLimit, _vmidLimit;
    private readonly int _ias;
    private readonly ITableMemory _memory;
    private readonly List<CachedGlobal> _cachedGlobals = new();

    public ReferenceModel(RunProfile profile, in SmmuConfig config, ITableMemory memory)
    {
        _geometry = ReferenceGeometry.For(profile.GranuleShift);
        _ias = (int)config.Ias;
        _memory = memory;
        Split = profile.Split;
        Nested = profile.Stage2;
        InputLimit = 1UL << _ias;
        UpperBase = 0UL - InputLimit;
        OutputLimit = 1UL << (int)config.Oas;
        _asidLimit = (1u << (int)config.AsidBits) - 1;
        _vmidLimit = (1u << (int)config.VmidBits) - 1;
        StartLevel = _geometry.StartLevel(_ias);
        for (int slot = 0; slot < Slots; slot++)
        {
            _tables[slot] = new ReferenceTable(_geometry, StartLevel);
            _attached[slot] = true;   // the run starts with all four attached
        }
        // The base active; on a split bank a process (else every lower-half access is an EPD0 fault).
        Active = Split ? FirstProcessSlot : BaseSlot;
        if (Nested)
            _tables[Stage2Slot] = new ReferenceTable(_geometry, _geometry.Stage2Root(_ias, (int)config.Oas).Start);
    }

    /// <summary>The base domain's tables are the bank's TTBR1 half; TTBR0 belongs to the active dynamic domain.</summary>
    public bool Split { get; }

    /// <summary>A stage-2 run: the base's bank is nested under the stage-2 domain, which is also attached alone.</summary>
    public bool Nested { get; }

    public ulong InputLimit { get; }

    /// <summary>2^64 − 2^ias: the first address of the upper (TTBR1) half.</summary>
    public ulong UpperBase { get; }

    public ulong OutputLimit { get; }

    public int StartLevel { get; }

    /// <summary>The slot the context bank points at.</summary>
    public int Active { get; private set; }

    public bool IsAttached(int slot) => _attached[slot];

    public ReferenceTable Table(int slot) => _tables[slot];

    /// <summary>Globals that may be cached (for the runner's report).</summary>
    public int CachedGlobalCount => _cachedGlobals.Count;

    /// <summary>The input of <paramref name="address"/> in <paramref name="slot"/>'s tree (a TTBR1 half counts from its base), or null outside its half.</summary>
    public ulong? Offset(int slot, ulong address)
    {
        if (slot == BaseSlot && Split)
            return address >= UpperBase ? address - UpperBase : null;
        return address < InputLimit ? address : null;
    }

    // ---- mappings -------------------------------------------------------------------------------

    /// <summary>
    /// <c>map</c>: Invalid (size 0, not aligned to the granule, neither READ nor WRITE, an unknown bit,
    /// GLOBAL on stage 2), then Range (outside the domain's half, or beyond 2^oas), then Exists (any page
    /// already mapped); otherwise every page is mapped and <paramref name="leaves"/> counts the leaves per level.
    /// </summary>
    public Outcomes Map(int slot, ulong address, ulong pa, ulong size, SmmuProt prot, out int[] leaves)
    {
        leaves = [];
        if (size == 0 || ((address | pa | size) & (_geometry.PageSize - 1)) != 0
            || (prot & (SmmuProt.Read | SmmuProt.Write)) == 0 || (prot & ~SmmuProt.All) != 0
            || (slot == Stage2Slot && (prot & SmmuProt.Global) != 0))
            return Outcome.Failed(SmmuError.Invalid);
        if (Offset(slot, address) is not ulong offset)
            return OutsideSplitHalf();
        if (size > InputLimit - offset || pa >= OutputLimit || size > OutputLimit - pa)
            return Outcome.Code(SmmuError.Range);
        if (_tables[slot].AnyMapped(offset, size))
            return Outcome.Code(SmmuError.Exists);
        leaves = _tables[slot].Add(offset, pa, size, prot);
        return Outcome.Code(SmmuError.Ok);
    }

    /// <summary>
    /// <c>unmap</c>: Invalid (size 0, not aligned to the granule), Range (outside the domain's half), else
    /// the bytes that were mapped, with what the TLB loses (<see cref="ForgetUnmapped"/>).
    /// </summary>
    public Outcomes Unmap(int slot, ulong address, ulong size, out long bytes, out int splits)
    {
        bytes = 0;
        splits = 0;
        if (size == 0 || ((address | size) & (_geometry.PageSize - 1)) != 0)
            return Outcome.Failed(SmmuError.Invalid);
        if (Offset(slot, address) is not ulong offset)
            return OutsideSplitHalf();
        if (size > InputLimit - offset)
            return Outcome.Code(SmmuError.Range);
        bytes = (long)_tables[slot].Remove(offset, size, out splits, out bool removedGlobal);
        if (bytes > 0)
            ForgetUnmapped(slot, address, address + (size - 1), removedGlobal);
        return Outcome.Code(SmmuError.Ok);
    }

    /// <summary>Range for an address outside the domain's half — or, in a split base domain, the model's EINVAL (<see cref="KnownDeviations"/>).</summary>
    private Outcomes OutsideSplitHalf()
    {
        var truth = Outcome.Code(SmmuError.Range);
        return Split && KnownDeviations.SplitOutsideHalfIsInvalid
            ? new Outcomes(truth, [(Outcome.Failed(SmmuError.Invalid), KnownDeviations.SplitOutsideHalfReason)])
            : truth;
    }

    /// <summary>
    /// What an unmap that removed something invalidates of the globals (smmu.h, smmu_unmap): a stage-2
    /// domain's unmap every combined entry of its VMID (TLBIVMALL); a removed global leaf its range for every
    /// ASID in every VMID; an attached stage-1 domain's unmap its range for its ASID and the globals
    /// (TLBIVA), for every ASID in a TTBR1 half (TLBIVAA). A detached domain's unmap of non-global leaves
    /// invalidates nothing.
    /// </summary>
    private void ForgetUnmapped(int slot, ulong first, ulong last, bool removedGlobal)
    {
        if (slot == Stage2Slot)
            _cachedGlobals.Clear();
        else if (removedGlobal || _attached[slot])
            _cachedGlobals.RemoveAll(c => c.Overlaps(first, last));
    }

    /// <summary><c>iova_to_phys</c>: any leaf's output whatever its permissions; Range outside the domain's half, NoEntry where nothing is mapped.</summary>
    public Outcome IovaToPhys(int slot, ulong address)
    {
        if (Offset(slot, address) is not ulong offset)
            return Outcome.Code(SmmuError.Range);
        return _tables[slot].TryGet(offset, out var leaf) ? Outcome.Translated(leaf.Pa) : Outcome.Failed(SmmuError.NoEntry);
    }

    // ---- translation ----------------------------------------------------------------------------

    /// <summary>
    /// A prediction: the outcomes accepted, the global translation a walk would cache (null for none), and
    /// how many descriptors the walk for the truth reads (stage-1 and stage-2 ones alike; -1 where a
    /// <see cref="KnownDeviations"/> case leaves it open).
    /// </summary>
    public readonly record struct Prediction(Outcomes Outcomes, CachedGlobal? Fill, int WalkReads);

    /// <summary>
    /// A transaction through the base domain's stream (an IOVA, in the active domain) or, in a stage-2 run,
    /// through the stage-2 domain's own stream (<paramref name="stream"/> 1: an IPA).
    /// </summary>
    public Prediction Translate(int stream, ulong address, SmmuAccess access)
    {
        if ((access & AccessKinds) == 0 || (access & ~SmmuAccess.All) != 0)
            return new(Outcome.Failed(SmmuError.Invalid), null, 0);
        int reads = 0;
        if (stream == 1)
            return new(Stage2Alone(address, access, ref reads), null, reads);
        Outcome truth = Walk(address, access, out CachedGlobal? fill, out (Outcome, string)? deviation, ref reads);
        List<(Outcome, string)>? alternatives = null;
        if (deviation is { } known)
            (alternatives ??= []).Add(known);
        foreach (CachedGlobal cached in _cachedGlobals)
        {
            if (!cached.Covers(address))
                continue;
            Outcome hit;
            string why = CachedGlobalReason;
            if (cached.Allows(access))
                hit = Outcome.Translated(cached.Pa + (address - cached.Base));
            else if (!Nested)
                hit = Outcome.Faulted(FaultType.Permission, cached.Level);   // a hit without the rights: the entry's level
            else if (truth.IsFault && truth.Fault == FaultType.Permission)
                continue;   // a combined entry without the rights is walked again to name the stage that denies: the truth
            else if (KnownDeviations.NestedGlobalWithoutRightsFaultsWithoutRecord)
                (hit, why) = (Outcome.FaultWithoutRecord, KnownDeviations.NestedGlobalReason);
            else
                hit = Outcome.Faulted(FaultType.Permission, cached.Level);   // the walk grants or faults otherwise: the TLB's answer, stage 1
            (alternatives ??= []).Add((hit, why));
        }
        return new(new Outcomes(truth, alternatives), fill, deviation is null ? reads : -1);
    }

    /// <summary>
    /// After the model answered <paramref name="observed"/> to <paramref name="prediction"/>: a walk that
    /// reached a global leaf may have cached it (the model caches a valid leaf even when the access is
    /// denied). Only when the model answered the truth: an answer from a cached entry did not walk.
    /// </summary>
    public void Observed(Prediction prediction, Outcome observed)
    {
        if (prediction.Fill is { } fill && observed == prediction.Outcomes.Truth && !_cachedGlobals.Contains(fill))
            _cachedGlobals.Add(fill);
    }

    /// <summary>
    /// The truth for an IOVA on the base domain's stream: the half by the top bits ([63:ias] all 0: TTBR0,
    /// the active domain's tables — disabled (EPD0) while a split bank runs its base domain; all 1: TTBR1, a
    /// split base domain's tables, disabled (EPD1) on a bank that is not split; anything else: neither), each
    /// failure a level-0 translation fault; then the stage-1 walk, nested or not. <paramref name="deviation"/>
    /// is the model's different answer where a <see cref="KnownDeviations"/> switch applies;
    /// <paramref name="reads"/> counts the descriptors read on the way, the one that faults included.
    /// </summary>
    private Outcome Walk(ulong va, SmmuAccess access, out CachedGlobal? fill, out (Outcome, string)? deviation, ref int reads)
    {
        fill = null;
        deviation = null;
        ulong top = va >> _ias;
        int slot;
        if (top == 0 && !(Split && Active == BaseSlot))
            slot = Active;
        else if (top == ulong.MaxValue >> _ias && Split)
            slot = BaseSlot;
        else
            return Outcome.Faulted(FaultType.Translation, 0);
        ulong offset = Offset(slot, va)!.Value;
        ReferenceTable table = _tables[slot];
        bool mapped = table.TryGet(offset, out var leaf);
        int stop = mapped ? leaf.Level : table.TranslationFaultLevel(offset);
        if (!Nested)
        {
            reads += stop - StartLevel + 1;
            if (!mapped)
                return Outcome.Faulted(FaultType.Translation, table.TranslationFaultLevel(offset));
            fill = GlobalOf(va, leaf, leaf.Level, null);
            return Allowed(leaf.Prot, access) ? Outcome.Translated(leaf.Pa) : Outcome.Faulted(FaultType.Permission, leaf.Level);
        }

        // Nested: every stage-1 table fetch is an IPA translated by stage 2 first (a fault there: stage 2, S1PTW).
        ulong tableIpa = _memory.RootOf(slot);
        for (int level = StartLevel; ; level++)
        {
            ulong descriptorIpa = tableIpa + Index(offset, level) * 8;
            if (Stage2Walk(descriptorIpa, tableFetch: true, out _, ref reads) is Outcome fetchFault)
                return fetchFault;
            reads++;
            if (level == stop)
                break;
            ulong descriptor = _memory.Read64(descriptorIpa);   // IPA = PA: the pool is mapped identically (checked in Stage2Walk)
            if ((descriptor & 0b11) != 0b11)
                throw new ReferenceMismatchException($"0x{va:X}: the reference walks on below level {level}, but the descriptor at 0x{descriptorIpa:X} is 0x{descriptor:X16}");
            tableIpa = descriptor & TableAddressMask;
        }
        if (!mapped)
            return Outcome.Faulted(FaultType.Translation, stop);
        bool stage1Allows = Allowed(leaf.Prot, access);
        Outcome stage1Permission = Outcome.Faulted(FaultType.Permission, leaf.Level);
        ulong ipa = leaf.Pa;
        if (Stage2Walk(ipa, tableFetch: false, out var s2, ref reads) is Outcome outputFault)
        {
            if (stage1Allows)
                return outputFault;
            // ARM ARM: stage 1's permission check comes before stage 2 sees the output address.
            if (KnownDeviations.Stage2OutputFaultBeforeStage1Permission)
                deviation = (outputFault, KnownDeviations.Stage2OutputFaultReason);
            return stage1Permission;
        }
        int shift = Math.Min(_geometry.LevelShift(leaf.Level), _tables[Stage2Slot].Geometry.LevelShift(s2.Level));
        fill = GlobalOf(va, leaf with { Pa = s2.Pa }, leaf.Level, s2.Prot, shift);
        if (!stage1Allows)
            return stage1Permission;   // stage 1 denies: a stage-1 fault, no IPA
        if (!Stage2Allowed(s2.Prot, access))
            return Outcome.Stage2Fault(FaultType.Permission, s2.Level, ipa, s1ptw: false);
        return Outcome.Translated(s2.Pa);
    }

    /// <summary>The cached-global record a walk through a global stage-1 leaf leaves; null for a non-global leaf.</summary>
    private CachedGlobal? GlobalOf(ulong va, ReferenceTable.Leaf leaf, int level, SmmuProt? stage2, int shift = -1)
    {
        if ((leaf.Prot & SmmuProt.Global) == 0)
            return null;
        if (shift < 0)
            shift = _geometry.LevelShift(level);
        ulong offsetInBlock = va & ((1UL << shift) - 1);
        return new CachedGlobal(va - offsetInBlock, shift, leaf.Pa - offsetInBlock, leaf.Prot, stage2, level);
    }

    /// <summary>
    /// Stage 2 for <paramref name="ipa"/>: null and the leaf when it translates (and, for a table fetch,
    /// grants read), else the stage-2 fault — level 0 beyond 2^ias, where the walk stops for an unmapped IPA,
    /// the leaf's level for a permission fault. <paramref name="reads"/> counts its descriptor reads (none beyond 2^ias).
    /// </summary>
    private Outcome? Stage2Walk(ulong ipa, bool tableFetch, out ReferenceTable.Leaf leaf, ref int reads)
    {
        leaf = default;
        ReferenceTable stage2 = _tables[Stage2Slot];
        if (ipa >= InputLimit)
            return Outcome.Stage2Fault(FaultType.Translation, 0, ipa, tableFetch);
        if (!stage2.TryGet(ipa, out leaf))
        {
            int level = stage2.TranslationFaultLevel(ipa);
            reads += level - stage2.StartLevel + 1;
            return Outcome.Stage2Fault(FaultType.Translation, level, ipa, tableFetch);
        }
        reads += leaf.Level - stage2.StartLevel + 1;
        if (tableFetch && (leaf.Prot & SmmuProt.Read) == 0)
            return Outcome.Stage2Fault(FaultType.Permission, leaf.Level, ipa, s1ptw: true);
        if (tableFetch && leaf.Pa != ipa)
            throw new InvalidOperationException($"test bug: stage 2 maps the table IPA 0x{ipa:X} to 0x{leaf.Pa:X}; the generators keep the pool IPA = PA");
        return null;
    }

    /// <summary>An IPA on the stage-2 domain's own stream: stage 2 alone, every fault a stage-2 fault at that IPA.</summary>
    private Outcome Stage2Alone(ulong ipa, SmmuAccess access, ref int reads)
    {
        if (Stage2Walk(ipa, tableFetch: false, out var leaf, ref reads) is Outcome fault)
            return fault;
        return Stage2Allowed(leaf.Prot, access) ? Outcome.Translated(leaf.Pa) : Outcome.Stage2Fault(FaultType.Permission, leaf.Level, ipa, s1ptw: false);
    }

    /// <summary>The index of <paramref name="offset"/> in a stage-1 table at <paramref name="level"/> (the root resolves fewer bits).</summary>
    public ulong Index(ulong offset, int level)
    {
        int bits = level == StartLevel ? _geometry.RootBits(_ias) : _geometry.LevelBits;
        return (offset >> _geometry.LevelShift(level)) & ((1UL << bits) - 1);
    }

    /// <summary>A table descriptor's next-level address: bits [47:granule].</summary>
    public ulong TableAddressMask => ((1UL << 48) - 1) & ~(_geometry.PageSize - 1);

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

    /// <summary>Stage-2 permissions (S2AP, XN), the same for privileged and unprivileged accesses: read and write as mapped, execute unless NOEXEC.</summary>
    public static bool Stage2Allowed(SmmuProt prot, SmmuAccess access) =>
        ((access & SmmuAccess.Read) == 0 || (prot & SmmuProt.Read) != 0)
        && ((access & SmmuAccess.Write) == 0 || (prot & SmmuProt.Write) != 0)
        && ((access & SmmuAccess.Exec) == 0 || (prot & SmmuProt.NoExec) == 0);

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

    /// <summary>
    /// Detaching a dynamic domain: NoDevice when it is not attached; if it was active the bank falls back to
    /// the base (seed rule 3). Its ASID's entries go (TLBIASID), its global ones stay.
    /// </summary>
    public int Detach(int slot)
    {
        if (!_attached[slot])
            return SmmuError.NoDevice;
        _attached[slot] = false;
        if (Active == slot)
            Active = BaseSlot;
        return SmmuError.Ok;
    }

    /// <summary>
    /// A dynamic domain freed (detached first) and a new, empty one attached in its slot. Freeing a tree that
    /// held a global leaf invalidates the globals of its whole half, in every VMID (smmu_domain_free).
    /// </summary>
    public void Recycle(int slot)
    {
        if (_attached[slot])
            Detach(slot);
        if (_tables[slot].GlobalPages > 0)
            _cachedGlobals.RemoveAll(c => c.Overlaps(0, InputLimit - 1));
        _tables[slot].Clear();
        _attached[slot] = true;
    }

    // ---- TLB maintenance: only the arguments matter, and which cached globals go ------------------

    public int InvalidateAll()
    {
        _cachedGlobals.Clear();
        return SmmuError.Ok;
    }

    /// <summary>TLBIASID spares global entries.</summary>
    public int InvalidateAsid(uint asid) => asid > _asidLimit ? SmmuError.Invalid : SmmuError.Ok;

    /// <summary>TLBIVA: the ASID's entries in the range, and the global ones.</summary>
    public int InvalidateVa(uint asid, ulong address, ulong size)
    {
        if (asid > _asidLimit || !IsRange(address, size))
            return SmmuError.Invalid;
        _cachedGlobals.RemoveAll(c => c.Overlaps(address, address + (size - 1)));
        return SmmuError.Ok;
    }

    /// <summary>TLBIVAA: every entry in the range.</summary>
    public int InvalidateVaAll(ulong address, ulong size)
    {
        if (!IsRange(address, size))
            return SmmuError.Invalid;
        _cachedGlobals.RemoveAll(c => c.Overlaps(address, address + (size - 1)));
        return SmmuError.Ok;
    }

    /// <summary>TLBIVMALL of the stage-2 domain's VMID: every entry of the nested bank.</summary>
    public int InvalidateVmid(uint vmid)
    {
        if (vmid == 0 || vmid > _vmidLimit)
            return SmmuError.Invalid;
        _cachedGlobals.Clear();
        return SmmuError.Ok;
    }

    /// <summary>TLBIIPAS2: stage-2-only entries; combined ones (all the globals) stay.</summary>
    public int InvalidateIpa(uint vmid, ulong ipa, ulong size) =>
        vmid == 0 || vmid > _vmidLimit || !IsRange(ipa, size) ? SmmuError.Invalid : SmmuError.Ok;

    /// <summary>Non-empty and not wrapping around 2^64.</summary>
    private static bool IsRange(ulong address, ulong size) => size != 0 && address + (size - 1) >= address;
}
