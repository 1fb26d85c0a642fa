using static Smmu.Core.Tests.TestSmmu;

namespace Smmu.Core.Tests.Property;

/// <summary>A disagreement between the model and the reference, at operation <see cref="Index"/> of the sequence.</summary>
internal sealed class PropertyFailure(int index, string message) : Exception(message)
{
    public int Index { get; } = index;
}

/// <summary>
/// Applies <see cref="Op"/>s to a fresh model instance and to the <see cref="ReferenceModel"/> side by side
/// and compares every result: codes, output addresses, unmapped byte counts, fault records (type, level,
/// address, access, domain, ASID). The instance is the seed's set-up: a base domain and three dynamic
/// domains on one stream, the base active, plus the profile's idle fillers. Beyond the results it checks
/// invariants the reference cannot see: a re-attached domain keeps its tables, a newly handed-out ASID
/// has no TLB entries left from its previous owner, and (in <see cref="Op.Audit"/>) the pool's accounting.
/// <para>A new operation is a case in <see cref="Apply"/>; whatever it changes goes into the reference
/// first, so that the comparison stays "predict, call, compare".</para>
/// </summary>
internal sealed class PropertyRunner : IDisposable
{
    private const int MaxBatch = 16;
    private readonly RunProfile _profile;
    private readonly SmmuInstance _smmu;
    private readonly ReferenceModel _reference;
    private readonly DomainHandle[] _domains = new DomainHandle[ReferenceModel.Slots];
    private readonly ulong[] _roots = new ulong[ReferenceModel.Slots];
    /// <summary>Per slot: its ASID, or while detached the last one it had.</summary>
    private readonly uint[] _asids = new uint[ReferenceModel.Slots];
    /// <summary>ASID → the slot that held it last, to see reuse happen.</summary>
    private readonly Dictionary<uint, int> _asidHolders = new();
    private readonly uint _bank;
    private readonly ulong[] _batchIovas = new ulong[MaxBatch];
    private readonly ulong[] _batchPas = new ulong[MaxBatch];
    private int _index;
    private Op? _op;

    public PropertyRunner(RunProfile profile)
    {
        _profile = profile;
        _smmu = profile.CreateInstance();
        SmmuConfig config = _smmu.Config;
        _reference = new ReferenceModel(config.Ias, config.Oas, config.AsidBits, ReferenceGeometry.Granule4K);
        _domains[ReferenceModel.BaseSlot] = _smmu.AttachBase();
        for (int slot = 1; slot < ReferenceModel.Slots; slot++)
            _domains[slot] = _smmu.AttachDynamic(_domains[ReferenceModel.BaseSlot]);
        for (int slot = 0; slot < ReferenceModel.Slots; slot++)
        {
            _roots[slot] = Tables.Root(_smmu, _domains[slot]);
            _asids[slot] = _smmu.AsidOf(_domains[slot]);
            _asidHolders[_asids[slot]] = slot;
        }
        for (int i = 0; i < profile.Fillers; i++)
            _smmu.AttachDynamic(_domains[ReferenceModel.BaseSlot]);
        Ok(_smmu.GetContextBank(_domains[ReferenceModel.BaseSlot], out _bank));
    }

    public Coverage Coverage { get; } = new();

    public SmmuStats Stats => _smmu.Stats;

    /// <summary>Applies <paramref name="ops"/> in order, then audits the tables; throws <see cref="PropertyFailure"/> at the first disagreement.</summary>
    public void Run(IReadOnlyList<Op> ops)
    {
        for (_index = 0; _index < ops.Count; _index++)
            Apply(ops[_index]);
        _op = new Op.Audit();
        Audit();
    }

    /// <summary>Runs <paramref name="ops"/> on a fresh instance: false with the failure if they disagree.</summary>
    public static bool Passes(RunProfile profile, IReadOnlyList<Op> ops, out PropertyFailure? failure)
    {
        using var runner = new PropertyRunner(profile);
        try
        {
            runner.Run(ops);
            failure = null;
            return true;
        }
        catch (PropertyFailure e)
        {
            failure = e;
            return false;
        }
    }

    public void Apply(Op op)
    {
        _op = op;
        switch (op)
        {
            case Op.Map map: ApplyMap(map); break;
            case Op.Unmap unmap: ApplyUnmap(unmap); break;
            case Op.Translate translate: ApplyTranslate(translate); break;
            case Op.TranslateBatch batch: ApplyTranslateBatch(batch); break;
            case Op.IovaToPhys walk: ApplyIovaToPhys(walk); break;
            case Op.Switch sw: ApplySwitch(sw.Slot); break;
            case Op.Attach attach: ApplyAttach(attach.Slot); break;
            case Op.Detach detach: ApplyDetach(detach.Slot); break;
            case Op.Invalidate invalidate: ApplyInvalidate(invalidate); break;
            case Op.Audit: Audit(); break;
            default: throw new ArgumentException($"no case for {op.GetType().Name}", nameof(op));
        }
    }

    // ---- operations -----------------------------------------------------------------------------

    private void ApplyMap(Op.Map op)
    {
        int slot = Resolve(op.Domain);
        ulong iova = Iova(op.At), size = (ulong)op.Pages << IovaLayout.PageShift, pa = op.Pa.Value;
        int expected = _reference.Map(slot, iova, pa, size, op.Prot, out int[] leaves);
        int got = _smmu.Map(_domains[slot], iova, pa, size, op.Prot);
        Expect(got == expected, () => $"map d{slot} 0x{iova:X}+0x{size:X} -> 0x{pa:X}: expected {Describe(expected)}, got {Describe(got)}");
        Coverage.Count(got switch
        {
            SmmuError.Ok => "map ok",
            SmmuError.Exists => "map exists",
            SmmuError.Range => "map range",
            _ => "map invalid",
        });
        if (got == SmmuError.Ok && leaves[1] > 0)
            Coverage.Count("map ok with a 1G block");
        if (got == SmmuError.Ok && leaves[2] > 0)
            Coverage.Count("map ok with a 2M block");
    }

    private void ApplyUnmap(Op.Unmap op)
    {
        int slot = Resolve(op.Domain);
        ulong iova = Iova(op.At), size = (ulong)op.Pages << IovaLayout.PageShift;
        long expected = _reference.Unmap(slot, iova, size, out int splits);
        long got = _smmu.Unmap(_domains[slot], iova, size);
        Expect(got == expected, () => $"unmap d{slot} 0x{iova:X}+0x{size:X}: expected {DescribeBytes(expected)}, got {DescribeBytes(got)}");
        Coverage.Count(got switch
        {
            > 0 => "unmap some",
            0 => "unmap nothing",
            SmmuError.Range => "unmap range",
            _ => "unmap invalid",
        });
        if (splits > 0)
            Coverage.Count("unmap split a block");
    }

    private void ApplyTranslate(Op.Translate op)
    {
        ulong iova = Iova(op.At) + (ulong)op.Offset;
        Outcomes expected = _reference.Translate(iova, op.Access);
        bool mayEvict = FillWouldEvict(iova);
        ulong misses = _smmu.Stats.TlbMisses;
        int rc = _smmu.Translate(Sid, iova, op.Access, out ulong pa);
        Outcome got = Observe(rc, pa, iova, op.Access);
        Expect(expected.Accepts(got), () => $"translate 0x{iova:X} {Format.Flags(op.Access)} in d{_reference.Active}: expected {expected}, got {got}");
        CountTranslation("translate", iova, got);
        // A miss that finds a leaf fills, faulting on the rights or not; into a full set, that evicts.
        if (mayEvict && _smmu.Stats.TlbMisses > misses && (got.IsOk || got.Fault == FaultType.Permission))
            Coverage.Count("translate evicted a TLB entry");
    }

    /// <summary>Whether the set a fill for <paramref name="iova"/> in the active domain would go to has every way valid (for coverage only).</summary>
    private bool FillWouldEvict(ulong iova)
    {
        if (!_reference.Table(_reference.Active).TryGet(iova, out var leaf))
            return false;
        var tlb = _smmu.TlbForTests;
        int sizeClass = ReferenceGeometry.LeafLevel - leaf.Level;   // tag size class: 0 = 4K page, 1 = 2M, 2 = 1G block
        int set = tlb.SetOf(iova, (ushort)_asids[_reference.Active], sizeClass);
        for (int way = 0; way < tlb.Ways; way++)
        {
            if (tlb.EntryAt(set * tlb.Ways + way).Asid == 0)   // ASID 0 marks an empty way
                return false;
        }
        return true;
    }

    private void ApplyTranslateBatch(Op.TranslateBatch op)
    {
        int count = op.At.Length;
        var expected = new Outcomes[count];
        for (int i = 0; i < count; i++)
        {
            // Different offsets into each page, so that an output address that lost its page offset shows.
            _batchIovas[i] = Iova(op.At[i]) + (ulong)(i * 0x48);
            expected[i] = _reference.Translate(_batchIovas[i], op.Access);
        }
        Array.Clear(_batchPas);
        int rc = _smmu.TranslateBatch(Sid, _batchIovas.AsSpan(0, count), _batchPas.AsSpan(0, count), op.Access, out int done);
        Expect(done >= 0 && done <= count, () => $"batch of {count}: done = {done}");
        for (int i = 0; i < done; i++)
        {
            var got = Outcome.Translated(_batchPas[i]);
            Expect(expected[i].Accepts(got), () => $"batch item {i} (0x{_batchIovas[i]:X} {Format.Flags(op.Access)}): expected {expected[i]}, got {got}");
        }
        if (done < count)
        {
            Outcome got = Observe(rc, 0, _batchIovas[done], op.Access);
            Expect(!got.IsOk && expected[done].Accepts(got),
                   () => $"batch stopped at item {done} (0x{_batchIovas[done]:X} {Format.Flags(op.Access)}): expected {expected[done]}, got {got}");
            CountTranslation("batch item", _batchIovas[done], got);
        }
        else
        {
            Expect(rc == SmmuError.Ok, () => $"batch translated all {count} items but returned {Describe(rc)}");
        }
        Coverage.Count(done == count ? "batch ok" : "batch stopped");
    }

    private void ApplyIovaToPhys(Op.IovaToPhys op)
    {
        int slot = Resolve(op.Domain);
        ulong iova = Iova(op.At) + 0x18;
        Outcome expected = _reference.IovaToPhys(slot, iova);
        Outcome got = WalkModel(slot, iova);
        Expect(got == expected, () => $"iova_to_phys d{slot} 0x{iova:X}: expected {expected}, got {got}");
        Coverage.Count(got.Rc switch
        {
            SmmuError.Ok => "iova_to_phys ok",
            SmmuError.NoEntry => "iova_to_phys no entry",
            _ => "iova_to_phys range",
        });
    }

    private void ApplySwitch(int slot)
    {
        int expected = _reference.Switch(slot);
        int got = _smmu.SwitchDomain(_domains[slot]);
        Expect(got == expected, () => $"switch to d{slot}: expected {Describe(expected)}, got {Describe(got)}");
        Coverage.Count(got == SmmuError.Ok ? "switch ok" : "switch to detached");
    }

    private void ApplyAttach(int slot)
    {
        int expected = _reference.Attach(slot);
        int got = _smmu.AttachDevice(_domains[slot], Sid);
        Expect(got == expected, () => $"attach d{slot}: expected {Describe(expected)}, got {Describe(got)}");
        if (got != SmmuError.Ok)
        {
            Coverage.Count("attach while attached");
            return;
        }
        Expect(Tables.Root(_smmu, _domains[slot]) == _roots[slot], () => $"d{slot}'s root moved across detach and attach");
        uint asid = _smmu.AsidOf(_domains[slot]);
        // A freed ASID is invalidated before reuse (design §4). Stale entries would show in a translation
        // only if the new owner probes exactly those pages, so look at the TLB itself.
        int stale = 0;
        for (int e = 0; e < _smmu.TlbForTests.Entries; e++)
            stale += _smmu.TlbForTests.EntryAt(e).Asid == asid ? 1 : 0;
        Expect(stale == 0, () => $"attach d{slot} got ASID {asid}, which still has {stale} TLB entries");
        Coverage.Count("re-attach");
        if (_asidHolders.TryGetValue(asid, out int previous))
        {
            Coverage.Count("re-attach with an old ASID");
            Coverage.Count(previous == slot ? "re-attach with its own old ASID" : "re-attach with another domain's old ASID");
        }
        _asidHolders[asid] = slot;
        _asids[slot] = asid;
    }

    private void ApplyDetach(int slot)
    {
        bool wasActive = _reference.Active == slot;
        int expected = _reference.Detach(slot);
        int got = _smmu.DetachDevice(_domains[slot], Sid);
        Expect(got == expected, () => $"detach d{slot}: expected {Describe(expected)}, got {Describe(got)}");
        Coverage.Count(got != SmmuError.Ok ? "detach while detached" : wasActive ? "detach active (bank back to base)" : "detach");
    }

    private void ApplyInvalidate(Op.Invalidate op)
    {
        uint asid = op.AsidSlot == Op.Invalidate.AsidBeyondRange ? 1u << (int)_smmu.Config.AsidBits : _asids[op.AsidSlot];
        ulong iova = Iova(op.At), size = (ulong)op.Pages << IovaLayout.PageShift;
        var (expected, got) = op.Scope switch
        {
            TlbScope.All => (SmmuError.Ok, _smmu.TlbInvalidateAll()),
            TlbScope.Asid => (_reference.InvalidateAsid(asid), _smmu.TlbInvalidateAsid(asid)),
            TlbScope.AsidVa => (_reference.InvalidateVa(asid, iova, size), _smmu.TlbInvalidateVa(asid, iova, size)),
            _ => (_reference.InvalidateVaAll(iova, size), _smmu.TlbInvalidateVaAll(iova, size)),
        };
        Expect(got == expected, () => $"{op} (asid {asid}, 0x{iova:X}+0x{size:X}): expected {Describe(expected)}, got {Describe(got)}");
        Coverage.Count(got == SmmuError.Ok ? $"invalidate {op.Scope}" : "invalidate invalid");
    }

    /// <summary>
    /// The tables without the TLB, every probe page of every domain (<see cref="IovaLayout.ProbeIovas"/>)
    /// and a sample of everything the reference has mapped; the pool's pages in use and free add up, and
    /// in use are exactly the tables reachable from the roots; no fault record is left behind.
    /// </summary>
    private void Audit()
    {
        for (int slot = 0; slot < ReferenceModel.Slots; slot++)
        {
            foreach (ulong probe in IovaLayout.ProbeIovas)
                CheckWalk(slot, probe + 0x18);
            foreach (var (iova, _) in _reference.Table(slot).Sample(stride: 61))
                CheckWalk(slot, iova + 0x20);
        }
        SmmuStats stats = _smmu.Stats;
        ulong poolPages = _smmu.Config.PtPoolBytes >> IovaLayout.PageShift;
        Expect(stats.PtPagesInUse + stats.PtPagesFree == poolPages,
               () => $"pages in use {stats.PtPagesInUse} + free {stats.PtPagesFree} is not the pool's {poolPages}");
        // Fillers never map anything: their tables are their roots.
        long tables = _profile.Fillers;
        for (int slot = 0; slot < ReferenceModel.Slots; slot++)
            tables += Tables.CountTables(_smmu, _roots[slot]);
        Expect(stats.PtPagesInUse == (ulong)tables, () => $"{stats.PtPagesInUse} pages in use, but the tables reachable from the roots are {tables}");
        Expect(_smmu.GetFault(_bank, out _) == SmmuError.NoEntry, () => "a fault record was left behind");
        Coverage.Count("audit");
    }

    private void CheckWalk(int slot, ulong iova)
    {
        Outcome expected = _reference.IovaToPhys(slot, iova);
        Outcome got = WalkModel(slot, iova);
        if (got != expected)   // no closure on this path: it runs ~30 000 times per audit
            Expect(false, () => $"audit: iova_to_phys d{slot} 0x{iova:X}: expected {expected}, got {got}");
    }

    // ---- helpers --------------------------------------------------------------------------------

    private int Resolve(DomainRef domain) => domain.IsActive ? _reference.Active : domain.Slot;

    private ulong Iova(Place place) => IovaLayout.Iova(place, _reference.InputLimit);

    private Outcome WalkModel(int slot, ulong iova)
    {
        int rc = _smmu.IovaToPhys(_domains[slot], iova, out ulong pa);
        return rc == SmmuError.Ok ? Outcome.Translated(pa) : Outcome.Failed(rc);
    }

    /// <summary>
    /// The model's outcome for a translation that returned <paramref name="rc"/>: for a fault, the type and
    /// level the bank recorded, after checking the record names this transaction, the active domain and its
    /// ASID; the record is then cleared, as a driver's handler would.
    /// </summary>
    private Outcome Observe(int rc, ulong pa, ulong iova, SmmuAccess access)
    {
        if (rc == SmmuError.Ok)
            return Outcome.Translated(pa);
        if (rc != SmmuError.Fault)
            return Outcome.Failed(rc);
        Expect(_smmu.GetFault(_bank, out SmmuFault fault) == SmmuError.Ok, () => $"translate 0x{iova:X} faulted but left no fault record");
        int active = _reference.Active;
        Expect(fault.Iova == iova && fault.Access == access,
               () => $"the fault record names 0x{fault.Iova:X} {Format.Flags(fault.Access)}, not 0x{iova:X} {Format.Flags(access)}");
        Expect(fault.ActiveDomain == _domains[active] && fault.Asid == _asids[active],
               () => $"the fault record names {fault.ActiveDomain} ASID {fault.Asid}, but d{active} (ASID {_asids[active]}) is active");
        Ok(_smmu.ClearFault(_bank));
        return Outcome.Faulted(fault.Type, fault.Level);
    }

    private void CountTranslation(string what, ulong iova, Outcome got)
    {
        if (got.IsOk)
            Coverage.Count($"{what} ok");
        else if (got.Rc != SmmuError.Fault)
            Coverage.Count($"{what} {SmmuError.Describe(got.Rc)}");
        else if (iova >= _reference.InputLimit)
            Coverage.Count($"{what} beyond ias");
        else
            Coverage.Count($"{what} fault {got.Fault} at level {got.Level}");
    }

    /// <summary>Fails at the current operation; the message is built only on failure.</summary>
    private void Expect(bool condition, Func<string> message)
    {
        if (!condition)
            throw new PropertyFailure(_index, $"op #{_index} {_op}: {message()}");
    }

    private static string Describe(int rc) => rc == SmmuError.Ok ? "Ok" : $"{rc} ({SmmuError.Describe(rc)})";

    private static string DescribeBytes(long rc) => rc >= 0 ? $"0x{rc:X} bytes" : Describe((int)rc);

    public void Dispose() => _smmu.Dispose();
}
