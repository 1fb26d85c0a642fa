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
/// stage, S1PTW, IPA, address, access, domain, ASID). The instance is the seed's set-up in the profile's
/// granule: a base domain (split, nested, as the profile says) and three dynamic domains on one stream,
/// the base active (on a split bank, the first dynamic domain), plus the profile's idle fillers; in a stage-2 run also the stage-2 domain, mapping the
/// table pool IPA = PA and two slots of its data window, attached alone on a second stream. Beyond the
/// results it checks invariants the reference cannot see: a re-attached domain keeps its tables, a newly
/// handed-out ASID has no TLB entries left from its previous owner, and (in <see cref="Op.Audit"/>) the
/// pool's accounting.
/// <para>A new operation is a case in <see cref="Apply"/>; whatever it changes goes into the reference
/// first, so that the comparison stays "predict, call, compare".</para>
/// </summary>
internal sealed class PropertyRunner : IDisposable, ITableMemory
{
    private const int MaxBatch = 16;
    private const int S2 = ReferenceModel.Stage2Slot;
    private readonly RunProfile _profile;
    private readonly SmmuInstance _smmu;
    private readonly ReferenceModel _reference;
    private readonly ReferenceGeometry _geometry;
    private readonly IovaLayout _layout;
    private readonly DomainHandle[] _domains = new DomainHandle[ReferenceModel.Slots + 1];
    private readonly ulong[] _roots = new ulong[ReferenceModel.Slots + 1];
    /// <summary>Per slot: its ASID, or while detached the last one it had.</summary>
    private readonly uint[] _asids = new uint[ReferenceModel.Slots];
    /// <summary>ASID → the slot that held it last, to see reuse happen.</summary>
    private readonly Dictionary<uint, int> _asidHolders = new();
    private readonly uint _bank, _stage2Bank;
    private readonly uint _vmid;
    private readonly ulong _poolBase, _poolBytes;
    private readonly ulong[] _batchIovas = new ulong[MaxBatch];
    private readonly ulong[] _batchPas = new ulong[MaxBatch];
    private int _index;
    private Op? _op;

    public PropertyRunner(RunProfile profile)
    {
        _profile = profile;
        _geometry = profile.Geometry;
        _layout = new IovaLayout(_geometry);
        _smmu = profile.CreateInstance();
        SmmuConfig config = _smmu.Config;
        (_poolBase, _poolBytes) = (config.PtPoolBase, config.PtPoolBytes);
        _reference = new ReferenceModel(profile, config, this);

        DomainHandle stage2 = DomainHandle.None;
        if (profile.Stage2)
        {
            stage2 = NewDomain();
            Ok(_smmu.SetStage(stage2, 2));
            _domains[S2] = stage2;
            SetUpMap(_poolBase, _poolBase, _poolBytes);   // the guest's table memory, IPA = PA
            SetUpMap(IovaLayout.IpaBase, 16UL << 30, 2 * _layout.SlotSize);
            Ok(_smmu.AttachDevice(stage2, RunProfile.Stage2Stream));
            Ok(_smmu.GetContextBank(stage2, out _stage2Bank));
            Ok(_smmu.GetVmid(stage2, out _vmid));
            _roots[S2] = Vttbr(stage2);
        }
        DomainHandle baseDomain = NewDomain();
        if (profile.Split)
            Ok(_smmu.SetSplitTtbr1(baseDomain, true));
        if (profile.Stage2)
            Ok(_smmu.SetNestParent(baseDomain, stage2));
        Ok(_smmu.AttachDevice(baseDomain, Sid));
        Ok(_smmu.GetContextBank(baseDomain, out _bank));
        _domains[ReferenceModel.BaseSlot] = baseDomain;
        for (int slot = 1; slot < ReferenceModel.Slots; slot++)
            _domains[slot] = NewDynamic(slot);
        for (int slot = 0; slot < ReferenceModel.Slots; slot++)
        {
            _roots[slot] = RootOfDomain(slot);
            _asids[slot] = _smmu.AsidOf(_domains[slot]);
            _asidHolders[_asids[slot]] = slot;
        }
        for (int i = 0; i < profile.Fillers; i++)
            NewDynamic(slot: 1);
        if (_reference.Active != ReferenceModel.BaseSlot)
            Ok(_smmu.SwitchDomain(_domains[_reference.Active]));
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
        try
        {
            switch (op)
            {
                case Op.Map map: ApplyMap(Resolve(map.Domain, map.At), Address(map.At), map.Size, map.Pa.Value, map.Prot, map.At.Skew); break;
                case Op.Unmap unmap: ApplyUnmap(Resolve(unmap.Domain, unmap.At), Address(unmap.At), unmap.Size, unmap.At.Skew); break;
                case Op.Translate translate: ApplyTranslate(translate); break;
                case Op.TranslateBatch batch: ApplyTranslateBatch(batch); break;
                case Op.IovaToPhys walk: ApplyIovaToPhys(walk); break;
                case Op.Switch sw: ApplySwitch(sw.Slot); break;
                case Op.Attach attach: ApplyAttach(attach.Slot); break;
                case Op.Detach detach: ApplyDetach(detach.Slot); break;
                case Op.Recycle recycle: ApplyRecycle(recycle.Slot); break;
                case Op.Invalidate invalidate: ApplyInvalidate(invalidate); break;
                case Op.PoolMap poolMap: ApplyPoolMap(poolMap); break;
                case Op.PoolUnmap poolUnmap: ApplyPoolUnmap(poolUnmap); break;
                case Op.Audit: Audit(); break;
                default: throw new ArgumentException($"no case for {op.GetType().Name}", nameof(op));
            }
        }
        catch (ReferenceMismatchException e)
        {
            Expect(false, () => e.Message);
        }
    }

    // ---- operations -----------------------------------------------------------------------------

    private void ApplyMap(int slot, ulong address, ulong size, ulong pa, SmmuProt prot, bool skewed, string what = "map")
    {
        if (slot == S2 && !_profile.Stage2)
            slot = ReferenceModel.BaseSlot;
        if (slot == S2 && what == "map")
            what = "s2 map";
        Outcomes expected = _reference.Map(slot, address, pa, size, prot, out int[] leaves);
        int got = _smmu.Map(_domains[slot], address, pa, size, prot);
        Expect(expected.Accepts(Outcome.Code(got), out string? why),
               () => $"{what} {SlotName(slot)} 0x{address:X}+0x{size:X} -> 0x{pa:X} {Format.Flags(prot)}: expected {expected}, got {Describe(got)}");
        if (why != null)
            Coverage.Count($"{what}: {why}");
        Coverage.Count($"{what} {CodeName(got)}");
        if (got == SmmuError.Ok)
        {
            for (int level = _geometry.FirstBlockLevel; level < ReferenceGeometry.LeafLevel; level++)
            {
                if (leaves[level] > 0)
                    Coverage.Count($"{what} ok with a {Format.Bytes(_geometry.LevelSize(level))} block");
            }
            if ((prot & SmmuProt.Global) != 0)
                Coverage.Count($"{what} ok global");
        }
        CountPlacement(what, slot, address, got, skewed, (pa & (_geometry.PageSize - 1)) != 0);
    }

    private void ApplyUnmap(int slot, ulong address, ulong size, bool skewed, string what = "unmap")
    {
        if (slot == S2 && !_profile.Stage2)
            slot = ReferenceModel.BaseSlot;
        if (slot == S2 && what == "unmap")
            what = "s2 unmap";
        Outcomes expected = _reference.Unmap(slot, address, size, out long bytes, out int splits);
        long got = _smmu.Unmap(_domains[slot], address, size);
        bool agrees = expected.Truth.IsOk ? got == bytes : got < 0 && expected.Accepts(Outcome.Code((int)got), out _);
        Expect(agrees, () => $"{what} {SlotName(slot)} 0x{address:X}+0x{size:X}: expected {(expected.Truth.IsOk ? $"0x{bytes:X} bytes" : expected)}, got {DescribeBytes(got)}");
        if (got < 0 && expected.Accepts(Outcome.Code((int)got), out string? why) && why != null)
            Coverage.Count($"{what}: {why}");
        Coverage.Count(got switch
        {
            > 0 => $"{what} some",
            0 => $"{what} nothing",
            _ => $"{what} {CodeName((int)got)}",
        });
        if (splits > 0)
            Coverage.Count($"{what} split a block");
        CountPlacement(what, slot, address, got < 0 ? (int)got : 0, skewed, false);
    }

    /// <summary>Coverage of where a map or unmap went: outside the TTBR1 half, misaligned to a 16K/64K granule.</summary>
    private void CountPlacement(string what, int slot, ulong address, int got, bool skewed, bool paSkewed)
    {
        if (_reference.Split && slot == ReferenceModel.BaseSlot && address < _reference.UpperBase)
            Coverage.Count($"{what} outside the TTBR1 half");
        if (got == SmmuError.Invalid && (skewed || paSkewed) && _geometry.PageShift > 12)
            Coverage.Count($"{what} not aligned to the granule");
    }

    private void ApplyTranslate(Op.Translate op)
    {
        int stream = _profile.Stage2 ? op.Stream : 0;
        ulong address = Address(op.At) + (ulong)op.Offset;
        ReferenceModel.Prediction expected = _reference.Translate(stream, address, op.Access);
        int valid = _profile.TlbEntries <= 64 ? _smmu.TlbForTests.ValidEntries() : -1;
        SmmuStats before = _smmu.Stats;
        int rc = _smmu.Translate(StreamId(stream), address, op.Access, out ulong pa);
        SmmuStats after = _smmu.Stats;
        Outcome got = Observe(stream, rc, pa, address, op.Access);
        string name = stream == 1 ? "translate ipa" : "translate";
        Expect(expected.Outcomes.Accepts(got, out string? why),
               () => $"{name} 0x{address:X} {Format.Flags(op.Access)} in {ActiveName(stream)}: expected {expected.Outcomes}, got {got}");
        _reference.Observed(expected, got);
        CountTranslation(name, address, got, why, expected);
        if (rc != SmmuError.Invalid)
            CheckCounters(name, address, before, after, got, expected.WalkReads);
        // A miss that finds a leaf fills, faulting on the rights or not; if no way was empty, that evicts.
        if (valid >= 0 && after.TlbMisses > before.TlbMisses && (got.IsOk || got.Fault == FaultType.Permission)
            && _smmu.TlbForTests.ValidEntries() == valid)
            Coverage.Count("translate evicted a TLB entry");
        if (op.Twice && got.IsOk)
        {
            // The walk (or the hit) left the translation in the TLB: at once again, it must hit, reading nothing.
            before = _smmu.Stats;
            rc = _smmu.Translate(StreamId(stream), address, op.Access, out ulong again);
            after = _smmu.Stats;
            Expect(rc == SmmuError.Ok && again == pa && after.TlbHits == before.TlbHits + 1 && after.TlbMisses == before.TlbMisses
                   && after.DescriptorReads == before.DescriptorReads,
                   () => $"{name} 0x{address:X} again: {Describe(rc)} pa 0x{again:X} (first 0x{pa:X}), TLB hits +{after.TlbHits - before.TlbHits}, "
                         + $"misses +{after.TlbMisses - before.TlbMisses}, descriptor reads +{after.DescriptorReads - before.DescriptorReads}: not a hit");
            Coverage.Count($"{name} again hit{(why != null ? " (a cached global)" : expected.Fill != null ? " (a global leaf)" : "")}");
        }
    }

    /// <summary>
    /// One translation is one TLB lookup, a hit or a miss; a miss walks the truth's tables, reading as many
    /// descriptors as the reference's walk, and so does a nested hit without the rights (walked again to
    /// find the stage that denies); any other hit reads nothing.
    /// </summary>
    private void CheckCounters(string name, ulong address, in SmmuStats before, in SmmuStats after, Outcome got, int walkReads)
    {
        ulong hits = after.TlbHits - before.TlbHits, misses = after.TlbMisses - before.TlbMisses, reads = after.DescriptorReads - before.DescriptorReads;
        Expect(hits + misses == 1, () => $"{name} 0x{address:X}: TLB hits +{hits}, misses +{misses}: one translation is one lookup");
        if (walkReads < 0)
            return;
        bool walked = misses == 1 || (_reference.Nested && name == "translate" && !got.IsOk);
        long expectedReads = walked ? walkReads : 0;
        Expect((long)reads == expectedReads,
               () => $"{name} 0x{address:X}: {(misses == 1 ? "a miss" : "a hit")} read {reads} descriptors, the reference's walk {expectedReads}");
    }

    private void ApplyTranslateBatch(Op.TranslateBatch op)
    {
        int stream = _profile.Stage2 ? op.Stream : 0;
        int count = op.At.Length;
        var expected = new ReferenceModel.Prediction[count];
        for (int i = 0; i < count; i++)
        {
            // Different offsets into each page, so that an output address that lost its page offset shows.
            _batchIovas[i] = Address(op.At[i]) + (ulong)(i * 0x48);
            expected[i] = _reference.Translate(stream, _batchIovas[i], op.Access);
        }
        Array.Clear(_batchPas);
        int rc = _smmu.TranslateBatch(StreamId(stream), _batchIovas.AsSpan(0, count), _batchPas.AsSpan(0, count), op.Access, out int done);
        Expect(done >= 0 && done <= count, () => $"batch of {count}: done = {done}");
        string prefix = stream == 1 ? "batch ipa item" : "batch item";
        for (int i = 0; i < done; i++)
        {
            var got = Outcome.Translated(_batchPas[i]);
            Expect(expected[i].Outcomes.Accepts(got, out string? why),
                   () => $"batch item {i} (0x{_batchIovas[i]:X} {Format.Flags(op.Access)}) in {ActiveName(stream)}: expected {expected[i].Outcomes}, got {got}");
            _reference.Observed(expected[i], got);
            if (why != null)
                Coverage.Count($"{prefix} accepted: {why}");
        }
        if (done < count)
        {
            Outcome got = Observe(stream, rc, 0, _batchIovas[done], op.Access);
            Expect(!got.IsOk && expected[done].Outcomes.Accepts(got, out _),
                   () => $"batch stopped at item {done} (0x{_batchIovas[done]:X} {Format.Flags(op.Access)}) in {ActiveName(stream)}: expected {expected[done].Outcomes}, got {got}");
            expected[done].Outcomes.Accepts(got, out string? why);
            _reference.Observed(expected[done], got);
            CountTranslation(prefix, _batchIovas[done], got, why, expected[done]);
        }
        else
        {
            Expect(rc == SmmuError.Ok, () => $"batch translated all {count} items but returned {Describe(rc)}");
        }
        Coverage.Count(stream == 1 ? (done == count ? "batch ipa ok" : "batch ipa stopped") : done == count ? "batch ok" : "batch stopped");
    }

    private void ApplyIovaToPhys(Op.IovaToPhys op)
    {
        int slot = Resolve(op.Domain, op.At);
        if (slot == S2 && !_profile.Stage2)
            slot = ReferenceModel.BaseSlot;
        ulong address = Address(op.At) + 0x18;
        Outcome expected = _reference.IovaToPhys(slot, address);
        Outcome got = WalkModel(slot, address);
        Expect(got == expected, () => $"iova_to_phys {SlotName(slot)} 0x{address:X}: expected {expected}, got {got}");
        string what = slot == S2 ? "s2 iova_to_phys" : "iova_to_phys";
        Coverage.Count(got.Rc switch
        {
            SmmuError.Ok => $"{what} ok",
            SmmuError.NoEntry => $"{what} no entry",
            _ => $"{what} range",
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
        Expect(RootOfDomain(slot) == _roots[slot], () => $"d{slot}'s root moved across detach and attach");
        NoteNewAsid(slot, "re-attach");
    }

    /// <summary>A freed ASID is invalidated before reuse (design §5). Stale entries would show in a translation only if the new owner probes exactly those pages, so look at the TLB itself.</summary>
    private void NoteNewAsid(int slot, string what)
    {
        uint asid = _smmu.AsidOf(_domains[slot]);
        int stale = 0;
        for (int e = 0; e < _smmu.TlbForTests.Entries; e++)
            stale += _smmu.TlbForTests.EntryAt(e).Asid == asid ? 1 : 0;
        Expect(stale == 0, () => $"{what} d{slot} got ASID {asid}, which still has {stale} TLB entries");
        Coverage.Count(what);
        if (_asidHolders.TryGetValue(asid, out int previous))
        {
            Coverage.Count($"{what} with an old ASID");
            Coverage.Count(previous == slot ? $"{what} with its own old ASID" : $"{what} with another domain's old ASID");
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

    private void ApplyRecycle(int slot)
    {
        bool attached = _reference.IsAttached(slot);
        bool hadGlobals = _reference.Table(slot).GlobalPages > 0;
        _reference.Recycle(slot);
        if (attached)
            Expect(_smmu.DetachDevice(_domains[slot], Sid) == SmmuError.Ok, () => $"recycle: detach d{slot} failed");
        int rc = _smmu.DomainFree(_domains[slot]);
        Expect(rc == SmmuError.Ok, () => $"recycle: domain_free d{slot}: {Describe(rc)}");
        _domains[slot] = NewDynamic(slot);
        _roots[slot] = RootOfDomain(slot);
        NoteNewAsid(slot, "recycle");
        if (hadGlobals)
            Coverage.Count("recycle a domain with global leaves");
    }

    private void ApplyInvalidate(Op.Invalidate op)
    {
        uint asid = op.AsidSlot == Op.Invalidate.OutOfRange ? 1u << (int)_smmu.Config.AsidBits : _asids[op.AsidSlot];
        uint vmid = op.AsidSlot == Op.Invalidate.OutOfRange ? 1u << (int)_smmu.Config.VmidBits : _vmid;
        ulong address = Address(op.At), size = op.Size;
        TlbScope scope = _profile.Stage2 || op.Scope is not (TlbScope.Vmid or TlbScope.Ipa) ? op.Scope : TlbScope.All;
        var (expected, got) = scope switch
        {
            TlbScope.All => (_reference.InvalidateAll(), _smmu.TlbInvalidateAll()),
            TlbScope.Asid => (_reference.InvalidateAsid(asid), _smmu.TlbInvalidateAsid(asid)),
            TlbScope.AsidVa => (_reference.InvalidateVa(asid, address, size), _smmu.TlbInvalidateVa(asid, address, size)),
            TlbScope.VaAll => (_reference.InvalidateVaAll(address, size), _smmu.TlbInvalidateVaAll(address, size)),
            TlbScope.Vmid => (_reference.InvalidateVmid(vmid), _smmu.TlbInvalidateVmid(vmid)),
            _ => (_reference.InvalidateIpa(vmid, address, size), _smmu.TlbInvalidateIpa(vmid, address, size)),
        };
        Expect(got == expected, () => $"{op} (asid {asid}, vmid {vmid}, 0x{address:X}+0x{size:X}): expected {Describe(expected)}, got {Describe(got)}");
        Coverage.Count(got == SmmuError.Ok ? $"invalidate {scope}" : "invalidate invalid");
    }

    /// <summary>Maps the target's pool pages in stage 2, IPA = PA: for the whole pool, every hole in one map each.</summary>
    private void ApplyPoolMap(Op.PoolMap op)
    {
        if (!_profile.Stage2)
            return;
        if (!op.Target.Whole)
        {
            ulong page = PoolTargetPage(op.Target);
            ApplyMap(S2, page, _geometry.PageSize, page, op.Prot, skewed: false, "pool map");
            return;
        }
        ReferenceTable stage2 = _reference.Table(S2);
        ulong holeStart = 0, holeBytes = 0;
        for (ulong ipa = _poolBase; ipa <= _poolBase + _poolBytes; ipa += _geometry.PageSize)
        {
            bool hole = ipa < _poolBase + _poolBytes && !stage2.TryGet(ipa, out _);
            if (hole)
            {
                if (holeBytes == 0)
                    holeStart = ipa;
                holeBytes += _geometry.PageSize;
            }
            else if (holeBytes != 0)
            {
                ApplyMap(S2, holeStart, holeBytes, holeStart, op.Prot, skewed: false, "pool map");
                holeBytes = 0;
            }
        }
        Coverage.Count("pool map of every hole");
    }

    private void ApplyPoolUnmap(Op.PoolUnmap op)
    {
        if (!_profile.Stage2)
            return;
        if (op.Target.Whole)
            ApplyUnmap(S2, _poolBase, _poolBytes, skewed: false, "pool unmap");
        else
            ApplyUnmap(S2, PoolTargetPage(op.Target), _geometry.PageSize, skewed: false, "pool unmap");
    }

    /// <summary>
    /// The stage-2 page holding the level-<see cref="PoolTarget.Level"/> table on the walk of the target's
    /// place, found by reading the tables from the root (the deepest one there is, if the walk stops sooner).
    /// </summary>
    private ulong PoolTargetPage(PoolTarget target)
    {
        int slot = Resolve(target.Domain, target.At);
        ulong address = Address(target.At);
        ulong offset = _reference.Offset(slot, address) ?? address & (_reference.InputLimit - 1);
        ulong table = _roots[slot];
        for (int level = _reference.StartLevel; level < Math.Min(target.Level, ReferenceGeometry.LeafLevel); level++)
        {
            ulong descriptor = Read64(table + _reference.Index(offset, level) * 8);
            if ((descriptor & 0b11) != 0b11)
                break;
            table = descriptor & _reference.TableAddressMask;
        }
        return table & ~(_geometry.PageSize - 1);
    }

    /// <summary>
    /// The tables without the TLB, every probe address of every domain (<see cref="IovaLayout.ProbeOffsets"/>,
    /// <see cref="IovaLayout.Stage2Probes"/>) and a sample of everything the reference has mapped; the pool's
    /// pages in use and free add up, and in use are exactly the tables reachable from the roots; no fault
    /// record is left behind.
    /// </summary>
    private void Audit()
    {
        for (int slot = 0; slot < ReferenceModel.Slots; slot++)
        {
            ulong halfBase = _reference.Split && slot == ReferenceModel.BaseSlot ? _reference.UpperBase : 0;
            foreach (ulong probe in _layout.ProbeOffsets)
                CheckWalk(slot, halfBase + probe + 0x18);
            foreach (var (offset, _) in _reference.Table(slot).Sample(stride: 61))
                CheckWalk(slot, halfBase + offset + 0x20);
        }
        if (_profile.Stage2)
        {
            foreach (ulong probe in _layout.Stage2Probes(_poolBase, _poolBytes))
                CheckWalk(S2, probe + 0x18);
            foreach (var (ipa, _) in _reference.Table(S2).Sample(stride: 61))
                CheckWalk(S2, ipa + 0x20);
        }
        SmmuStats stats = _smmu.Stats;
        ulong poolPages = _poolBytes >> 12;
        Expect(stats.PtPagesInUse + stats.PtPagesFree == poolPages,
               () => $"pages in use {stats.PtPagesInUse} + free {stats.PtPagesFree} is not the pool's {poolPages}");
        // Fillers never map anything: their tables are their roots, a granule each.
        long frames = (long)_profile.Fillers * (long)(_geometry.PageSize >> 12);
        int ias = (int)_smmu.Config.Ias;
        for (int slot = 0; slot < ReferenceModel.Slots; slot++)
            frames += CountTableFrames(_roots[slot], _reference.StartLevel, _geometry.RootBits(ias));
        if (_profile.Stage2)
        {
            var (start, rootBits) = _geometry.Stage2Root(ias, (int)_smmu.Config.Oas);
            frames += CountTableFrames(_roots[S2], start, rootBits);
        }
        Expect(stats.PtPagesInUse == (ulong)frames, () => $"{stats.PtPagesInUse} pages in use, but the tables reachable from the roots take {frames}");
        Expect(_smmu.GetFault(_bank, out _) == SmmuError.NoEntry, () => "a fault record was left behind");
        if (_profile.Stage2)
            Expect(_smmu.GetFault(_stage2Bank, out _) == SmmuError.NoEntry, () => "a fault record was left behind on the stage-2 bank");
        Coverage.Count("audit");
    }

    /// <summary>4 KiB frames taken by the tree at <paramref name="root"/> (a root of 2^<paramref name="rootBits"/> descriptors, at least a granule), read from memory.</summary>
    private long CountTableFrames(ulong root, int startLevel, int rootBits)
    {
        long Count(ulong table, int level, ulong entries)
        {
            long frames = (long)(Math.Max(entries * 8, _geometry.PageSize) >> 12);
            if (level == ReferenceGeometry.LeafLevel)
                return frames;
            for (ulong i = 0; i < entries; i++)
            {
                ulong descriptor = Read64(table + i * 8);
                if ((descriptor & 0b11) == 0b11)
                    frames += Count(descriptor & _reference.TableAddressMask, level + 1, 1UL << _geometry.LevelBits);
            }
            return frames;
        }
        return Count(root, startLevel, 1UL << rootBits);
    }

    private void CheckWalk(int slot, ulong address)
    {
        Outcome expected = _reference.IovaToPhys(slot, address);
        Outcome got = WalkModel(slot, address);
        if (got != expected)   // no closure on this path: it runs ~30 000 times per audit
            Expect(false, () => $"audit: iova_to_phys {SlotName(slot)} 0x{address:X}: expected {expected}, got {got}");
    }

    // ---- set-up ---------------------------------------------------------------------------------

    /// <summary>A domain in the run's granule.</summary>
    private DomainHandle NewDomain()
    {
        DomainHandle d = _smmu.Alloc();
        Ok(_smmu.SetGranule(d, _geometry.Bytes));
        return d;
    }

    /// <summary>
    /// A dynamic domain on the base's bank, attached. On a nested bank, slot 2's domain names the base's
    /// stage-2 domain as its NEST_PARENT (allowed: the same one); the others leave it unset.
    /// </summary>
    private DomainHandle NewDynamic(int slot)
    {
        DomainHandle d = NewDomain();
        Ok(_smmu.SetDynamic(d, true));
        Ok(_smmu.SetContextBank(d, _bank));
        if (_profile.Stage2 && slot == 2)
            Ok(_smmu.SetNestParent(d, _domains[S2]));
        Ok(_smmu.AttachDevice(d, Sid));
        return d;
    }

    /// <summary>A stage-2 map made before the run, in the model and the reference alike.</summary>
    private void SetUpMap(ulong ipa, ulong pa, ulong size)
    {
        const SmmuProt readWrite = SmmuProt.Read | SmmuProt.Write;
        Ok(_smmu.Map(_domains[S2], ipa, pa, size, readWrite));
        Assert.True(_reference.Map(S2, ipa, pa, size, readWrite, out _).Truth.IsOk);
    }

    /// <summary>A stage-1 slot's root: TTBR1 for a split base domain, else TTBR0.</summary>
    private ulong RootOfDomain(int slot)
    {
        ulong image;
        if (slot == ReferenceModel.BaseSlot && _profile.Split)
            Ok(_smmu.GetTtbr1(_domains[slot], out image));
        else
            Ok(_smmu.GetTtbr0(_domains[slot], out image));
        return image & Tables.PaMask;
    }

    private ulong Vttbr(DomainHandle stage2)
    {
        Ok(_smmu.GetVttbr(stage2, out ulong image));
        return image & Tables.PaMask;
    }

    // ---- ITableMemory -----------------------------------------------------------------------------

    public ulong RootOf(int slot) => _roots[slot];

    public ulong Read64(ulong pa)
    {
        int rc = _smmu.PhysRead64(pa, out ulong value);
        if (rc != SmmuError.Ok)
            throw new ReferenceMismatchException($"PhysRead64(0x{pa:X}): {Describe(rc)}");
        return value;
    }

    // ---- helpers --------------------------------------------------------------------------------

    /// <summary>The slot a domain reference names when the operation runs.</summary>
    private int Resolve(DomainRef domain, Place at) => domain.Slot switch
    {
        DomainRef.ActiveSlot => _reference.Active,
        DomainRef.OwnerSlot => _reference.Split && Address(at) >= _reference.UpperBase ? ReferenceModel.BaseSlot : _reference.Active,
        _ => domain.Slot,
    };

    private ulong Address(Place place) => _layout.Address(place, _reference.InputLimit, _poolBase);

    private static string SlotName(int slot) => slot == S2 ? "s2" : $"d{slot}";

    private static uint StreamId(int stream) => stream == 0 ? Sid : RunProfile.Stage2Stream;

    private string ActiveName(int stream) => stream == 1 ? "s2 alone" : $"d{_reference.Active}";

    private Outcome WalkModel(int slot, ulong address)
    {
        int rc = _smmu.IovaToPhys(_domains[slot], address, out ulong pa);
        return rc == SmmuError.Ok ? Outcome.Translated(pa) : Outcome.Failed(rc);
    }

    /// <summary>
    /// The model's outcome for a translation that returned <paramref name="rc"/>: for a fault, the record on
    /// the stream's bank, after checking it names this transaction, the active domain and its ASID (the
    /// stage-2 domain and none on its own stream), and that FSYNR0 agrees with it; the record is then
    /// cleared, as a driver's handler would. Fault without a record is an outcome of its own.
    /// </summary>
    private Outcome Observe(int stream, int rc, ulong pa, ulong address, SmmuAccess access)
    {
        if (rc == SmmuError.Ok)
            return Outcome.Translated(pa);
        if (rc != SmmuError.Fault)
            return Outcome.Failed(rc);
        uint bank = stream == 0 ? _bank : _stage2Bank;
        if (_smmu.GetFault(bank, out SmmuFault fault) != SmmuError.Ok)
            return Outcome.FaultWithoutRecord;
        Expect(fault.Iova == address && fault.Access == access,
               () => $"the fault record names 0x{fault.Iova:X} {Format.Flags(fault.Access)}, not 0x{address:X} {Format.Flags(access)}");
        var (domain, asid) = stream == 0 ? (_domains[_reference.Active], _asids[_reference.Active]) : (_domains[S2], 0u);
        Expect(fault.ActiveDomain == domain && fault.Asid == asid,
               () => $"the fault record names {fault.ActiveDomain} ASID {fault.Asid}, but {ActiveName(stream)} ({domain}, ASID {asid}) is active");
        Expect((fault.Fsynr & FaultRegisters.Fsynr0LevelMask) == (fault.Level & FaultRegisters.Fsynr0LevelMask)
               && ((fault.Fsynr & FaultRegisters.Fsynr0PageTableWalk) != 0) == (fault.S1ptw != 0),
               () => $"FSYNR0 0x{fault.Fsynr:X} disagrees with the record (level {fault.Level}, S1PTW {fault.S1ptw})");
        Ok(_smmu.ClearFault(bank));
        return new Outcome(SmmuError.Fault, 0, fault.Type, fault.Level, fault.Stage, fault.S1ptw != 0, fault.Ipa);
    }

    private void CountTranslation(string what, ulong address, Outcome got, string? why, ReferenceModel.Prediction expected)
    {
        if (why != null)
            Coverage.Count($"{what} accepted: {why}");
        ulong top = address >> (int)_smmu.Config.Ias;
        bool upper = top != 0 && top == ulong.MaxValue >> (int)_smmu.Config.Ias;
        if (got.IsOk)
        {
            Coverage.Count($"{what} ok");
            if (why == null && expected.Fill != null)
                Coverage.Count($"{what} ok through a global leaf");
            if (upper && why == null)
                Coverage.Count(_reference.Active == ReferenceModel.BaseSlot ? $"{what} ok in the TTBR1 half" : $"{what} ok in the TTBR1 half under a process's ASID");
        }
        else if (!got.IsFault || got.NoRecord)
        {
            Coverage.Count($"{what} {(got.NoRecord ? "fault without a record" : SmmuError.Describe(got.Rc))}");
        }
        else if (got.Stage == 2)
        {
            Coverage.Count($"{what} fault stage 2 {got.Fault} at level {got.Level}{(got.S1ptw ? " (S1PTW)" : "")}");
        }
        else if (got.Level == 0 && got.Fault == FaultType.Translation && !upper && top != 0)
        {
            Coverage.Count($"{what} in neither half");
        }
        else if (got.Level == 0 && got.Fault == FaultType.Translation && upper && !_reference.Split)
        {
            Coverage.Count($"{what} upper half without TTBR1 (EPD1)");
        }
        else if (got.Level == 0 && got.Fault == FaultType.Translation && !upper && _reference.Split && _reference.Active == ReferenceModel.BaseSlot)
        {
            Coverage.Count($"{what} lower half while TTBR0 is disabled (EPD0)");
        }
        else
        {
            Coverage.Count($"{what} fault {got.Fault} at level {got.Level}");
        }
    }

    private static string CodeName(int rc) => rc switch
    {
        SmmuError.Ok => "ok",
        SmmuError.Exists => "exists",
        SmmuError.Range => "range",
        SmmuError.Invalid => "invalid",
        _ => SmmuError.Describe(rc),
    };

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
