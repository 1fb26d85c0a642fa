using CsCheck;

namespace Smmu.Core.Tests.Property;

/// <summary>
/// CsCheck generators for <see cref="Op"/> sequences, for one <see cref="RunProfile"/> (its granule sets
/// what a page and a slot are, see <see cref="IovaLayout"/>). Everything is drawn from small index spaces
/// (two Small slots, a handful of hot pages, four domain slots) so that maps overlap, translations hit
/// what was mapped and unmaps cut through blocks — often enough that a short random sequence already
/// finds a bug, which is what CsCheck's shrinking searches for. No generator looks at the state: a
/// sequence is data, fixed by its seed, and replays against whatever state it meets.
/// <para>The single-operation mix, in parts per thousand: translate 430 (batches 50, one in four single
/// ones done twice), map 172 (pages 130, slot-aligned 40, the largest block 2: 2^18 reference pages each
/// with 4K), unmap 84, switch 40, invalidate 40, iova_to_phys 20, recycle 5, audit 3; detach and attach
/// take <see cref="RunProfile.Churn"/> on top. A stage-2 run adds stage-2 maps and unmaps of the data
/// window (remaps), pool unmaps and maps, and translations through the stage-2 stream. About one step in
/// ten is a <see cref="WorkingSet"/> instead, so about half of all operations are translations; one in
/// forty a <see cref="GlobalStory"/>, and in a stage-2 run one more in forty a <see cref="PoolStory"/>.
/// Split runs put 40 % of the addresses in the TTBR1 half, other runs 3 % (level-0 faults, ERANGE); 2 in
/// 10 stage-1 maps are GLOBAL. The counts each run prints show where the mix lands.</para>
/// </summary>
internal sealed class OperationGenerators
{
    private readonly RunProfile _profile;
    private readonly IovaLayout _layout;

    private OperationGenerators(RunProfile profile)
    {
        _profile = profile;
        _layout = new IovaLayout(profile.Geometry);
        int pages = _layout.PagesPerSlot;
        HotPage = Gen.Frequency((7, Gen.Int[0, 7]), (1, Gen.Int[pages - 8, pages - 1]), (2, Gen.Int[0, pages - 1]));
        Upper = profile.Split ? Gen.Frequency((3, Gen.Const(false)), (2, Gen.Const(true))) : Gen.Frequency((97, Gen.Const(false)), (3, Gen.Const(true)));
        Skew = Gen.Frequency((97, Gen.Const(false)), (3, Gen.Const(true)));
        GigaSlot = Gen.Frequency((8, Gen.OneOf(_layout.HotGigaSlots)), (2, Gen.Int[0, _layout.GigaSlots - 1]));
    }

    /// <summary>
    /// A whole sample: 1 to <see cref="RunProfile.MaxSteps"/> steps, a step being one operation or (one in
    /// ten) a working set. Long enough to reach deep states (full TLB sets, split blocks, reused ASIDs);
    /// CsCheck's shrinking prefers fewer steps, then simpler values.
    /// </summary>
    public static Gen<Op[]> Sequence(RunProfile profile)
    {
        var gens = new OperationGenerators(profile);
        var steps = new List<(int, IGen<Op[]>)> { (36, gens.Operation().Select(op => new[] { op })), (4, gens.WorkingSet), (1, gens.GlobalStory) };
        if (profile.Stage2)
            steps.Add((1, gens.PoolStory));
        return Gen.Frequency(steps.ToArray())
                  .Array[1, profile.MaxSteps]
                  .Select(steps => steps.SelectMany(step => step).ToArray());
    }

    // ---- addresses ------------------------------------------------------------------------------

    /// <summary>Mostly the first eight pages of a slot or its last eight (so ranges cross into the next slot), sometimes any.</summary>
    private Gen<int> HotPage { get; }

    /// <summary>Whether a place is in the upper (TTBR1) half.</summary>
    private Gen<bool> Upper { get; }

    /// <summary>Rarely 4 KiB off the granule (EINVAL with 16K and 64K).</summary>
    private Gen<bool> Skew { get; }

    private Gen<int> GigaSlot { get; }

    private Gen<Place> SmallPlace => Gen.Select(Gen.Int[0, IovaLayout.SmallSlots - 1], HotPage, Upper, (s, p, u) => new Place(Window.Small, s, p, u));
    private Gen<Place> GigaPlace => Gen.Select(GigaSlot, HotPage, Upper, (s, p, u) => new Place(Window.Giga, s, p, u));
    private Gen<Place> AnywherePlace => Gen.Select(Gen.Int[0, (1 << 27) - 1], Gen.Int[0, _layout.PagesPerSlot - 1], Upper, (s, p, u) => new Place(Window.Anywhere, s, p, u));
    private Gen<Place> BeyondPlace => Gen.Select(Gen.Int[0, 3], HotPage, Upper, (s, p, u) => new Place(Window.Beyond, s, p, u));
    private static Gen<Place> TopPlace => Gen.Int[0, 7].Select(p => new Place(Window.Top, 0, p));
    private Gen<Place> IpaPlace => Gen.Select(Gen.Int[0, IovaLayout.IpaSlots - 1], HotPage, (s, p) => new Place(Window.Ipa, s, p));
    private Gen<Place> PoolPlace => Gen.Int[0, (int)(_profile.PoolBytes >> _layout.PageShift) - 1].Select(p => new Place(Window.Pool, 0, p));

    /// <summary>Where translations, unmaps and invalidations go: mostly where maps go, rarely anywhere or out of range.</summary>
    private Gen<Place> AnyPlace => Gen.Frequency((85, SmallPlace), (10, GigaPlace), (2, AnywherePlace), (2, BeyondPlace), (1, TopPlace));

    /// <summary>Where maps and working sets go.</summary>
    private Gen<Place> MapPlace => Gen.Frequency((4, SmallPlace), (1, GigaPlace));

    private Gen<Place> Skewed(Gen<Place> places) => Gen.Select(places, Skew, (at, skew) => at with { Skew = skew });

    private Gen<Place> SlotStart => Gen.Frequency(
        (2, Gen.Select(Gen.Int[0, IovaLayout.SmallSlots - 1], Upper, (s, u) => new Place(Window.Small, s, 0, u))),
        (1, Gen.Select(GigaSlot, Upper, (s, u) => new Place(Window.Giga, s, 0, u))));

    /// <summary>Where the stage-2 stream's transactions go: the data window, the pool, beyond 2^ias.</summary>
    private Gen<Place> IpaTarget => Gen.Frequency((85, IpaPlace), (10, PoolPlace), (5, Gen.Select(Gen.Int[0, 3], HotPage, (s, p) => new Place(Window.Beyond, s, p))));

    private ulong Pages(long count) => (ulong)count << _layout.PageShift;

    /// <summary>Output addresses aligned to <paramref name="alignment"/> in 1..255 GiB; rarely beyond 2^48 (Range).</summary>
    private static Gen<OutputAddress> Pa(ulong alignment) => Gen.Frequency(
        (99, Gen.Select(Gen.Int[1, 255], Gen.Long[0, (long)((1UL << 30) / Math.Min(alignment, 1UL << 30)) - 1],
                        (g, k) => new OutputAddress(((ulong)g << 30) + (ulong)k * alignment))),
        (1, Gen.Const(new OutputAddress(1UL << 48))));

    /// <summary>Aligned to the largest block, a slot, a page, or (rarely) only 4 KiB: EINVAL with 16K and 64K.</summary>
    private Gen<OutputAddress> AnyPa => Gen.Frequency(
        (20, Pa(_layout.BigSize)), (10, Pa(_layout.SlotSize)), (10, Pa(_layout.PageSize)), (1, Pa(4096)));

    /// <summary>
    /// In a stage-2 run most stage-1 outputs are IPAs of the data window: mostly its first two slots, which
    /// stage 2 maps from the start (until unmapped), sometimes the two it maps only now and then; the rest
    /// mostly IPAs stage 2 never maps.
    /// </summary>
    private Gen<OutputAddress> Stage1Pa(Gen<OutputAddress> plain) => !_profile.Stage2 ? plain : Gen.Frequency(
        (7, IpaOutput(0, 1)), (2, IpaOutput(2, IovaLayout.IpaSlots - 1)), (1, plain));

    private Gen<OutputAddress> IpaOutput(int firstSlot, int lastSlot) => Gen.Select(
        Gen.Int[firstSlot, lastSlot], Gen.Frequency((1, Gen.Const(0)), (2, HotPage)),
        (s, p) => new OutputAddress(IovaLayout.IpaBase + ((ulong)s << _layout.SlotShift) + ((ulong)p << _layout.PageShift)));

    // ---- attributes -----------------------------------------------------------------------------

    /// <summary>Split runs aim most maps at the owner of the place's half; others at the active domain; sometimes a named slot.</summary>
    private Gen<DomainRef> Domain => _profile.Split
        ? Gen.Frequency((3, Gen.Const(DomainRef.Owner)), (1, Gen.Const(DomainRef.Active)), (1, Gen.Int[0, ReferenceModel.Slots - 1].Select(s => new DomainRef(s))))
        : Gen.Frequency((3, Gen.Const(DomainRef.Active)), (1, Gen.Int[0, ReferenceModel.Slots - 1].Select(s => new DomainRef(s))));

    /// <summary>Read, write or both, each extra flag with probability 3/10 (GLOBAL 2/10); rarely no access or an unknown bit (Invalid).</summary>
    private static readonly Gen<SmmuProt> Prot = Gen.Frequency(
        (97, Gen.Select(Gen.OneOf(SmmuProt.Read, SmmuProt.Write, SmmuProt.Read | SmmuProt.Write),
                        Gen.Int[0, 9], Gen.Int[0, 9], Gen.Int[0, 9], Gen.Int[0, 9], Gen.Int[0, 9],
                        (rw, cache, noExec, mmio, priv, global) => rw | (cache < 3 ? SmmuProt.Cache : 0) | (noExec < 3 ? SmmuProt.NoExec : 0)
                                                                 | (mmio < 3 ? SmmuProt.Mmio : 0) | (priv < 3 ? SmmuProt.Priv : 0)
                                                                 | (global < 2 ? SmmuProt.Global : 0))),
        (3, Gen.OneOf(SmmuProt.None, SmmuProt.Cache, (SmmuProt)0x80 | SmmuProt.Read)));   // malformed: refused

    /// <summary>Stage 2: read, write (without read: no table fetch) or both, NOEXEC 3/10; rarely GLOBAL (Invalid on stage 2) or malformed.</summary>
    private static readonly Gen<SmmuProt> Stage2Prot = Gen.Frequency(
        (94, Gen.Select(Gen.Frequency((6, Gen.Const(SmmuProt.Read | SmmuProt.Write)), (3, Gen.Const(SmmuProt.Read)), (1, Gen.Const(SmmuProt.Write))),
                        Gen.Int[0, 9], Gen.Int[0, 9],
                        (rw, cache, noExec) => rw | (cache < 3 ? SmmuProt.Cache : 0) | (noExec < 3 ? SmmuProt.NoExec : 0))),
        (4, Gen.Const(SmmuProt.Read | SmmuProt.Write | SmmuProt.Global)),
        (2, Gen.Const(SmmuProt.None)));

    private static readonly SmmuAccess[] AccessKinds =
    [
        SmmuAccess.Read, SmmuAccess.Write, SmmuAccess.Exec,
        SmmuAccess.Read | SmmuAccess.Write, SmmuAccess.Read | SmmuAccess.Exec, SmmuAccess.Read | SmmuAccess.Write | SmmuAccess.Exec,
    ];

    /// <summary>Every kind, privileged or not; rarely no kind or an unknown bit (Invalid).</summary>
    private static readonly Gen<SmmuAccess> Access = Gen.Frequency(
        (97, Gen.Select(Gen.OneOf(AccessKinds), Gen.Bool, (kind, priv) => priv ? kind | SmmuAccess.Priv : kind)),
        (3, Gen.OneOf(SmmuAccess.None, SmmuAccess.Priv, (SmmuAccess)0x10 | SmmuAccess.Read)));

    // ---- stage-1 operations ---------------------------------------------------------------------

    /// <summary>1..8 pages, sometimes up to 64, mostly in the Small window; any output alignment.</summary>
    private Gen<Op> MapPages => Gen.Select(
        Domain, Gen.Frequency((97, Skewed(MapPlace)), (1, AnywherePlace), (1, BeyondPlace), (1, TopPlace)),
        Gen.Frequency((6, Gen.Long[1, 8]), (3, Gen.Long[1, 64])), Stage1Pa(AnyPa), Prot,
        (d, at, pages, pa, prot) => (Op)new Op.Map(d, at, Pages(pages), pa, prot));

    /// <summary>One or two level-2 blocks at a slot start, sometimes with pages after, sometimes with an output that forces pages.</summary>
    private Gen<Op> MapSlots => Gen.Select(
        Domain, SlotStart, Gen.Int[1, 2], Gen.Frequency((2, Gen.Const(0)), (1, Gen.Int[1, 8])),
        Stage1Pa(Gen.Frequency((3, Pa(_layout.SlotSize)), (1, Pa(_layout.PageSize)))), Prot,
        (d, at, blocks, extra, pa, prot) => (Op)new Op.Map(d, at, ((ulong)blocks << _layout.SlotShift) + Pages(extra), pa, prot));

    /// <summary>The largest block (1 GiB with 4K), sometimes followed by a slot and a page; nested, half of them onto the IPA window's start.</summary>
    private Gen<Op> MapBig => Gen.Select(
        Domain, Gen.Bool, Upper,
        _profile.Stage2 ? Gen.Frequency((1, Gen.Const(new OutputAddress(IovaLayout.IpaBase))), (1, Pa(_layout.BigSize))) : Pa(_layout.BigSize), Prot,
        (d, more, upper, pa, prot) => (Op)new Op.Map(d, new Place(Window.Giga, 0, 0, upper), _layout.BigSize + (more ? _layout.SlotSize + _layout.PageSize : 0), pa, prot));

    /// <summary>1 page to 128 pages, log-uniform; rarely nothing at all (Invalid).</summary>
    private Gen<Op> UnmapRange => Gen.Select(
        Domain, Skewed(AnyPlace), Gen.Frequency((97, Gen.Select(Gen.Int[0, 7], Gen.Int[0, 3], (k, j) => (1L << k) + j)), (3, Gen.Const(0L))),
        (d, at, pages) => (Op)new Op.Unmap(d, at, Pages(pages)));

    private Gen<Op> UnmapSlots => Gen.Select(
        Domain, SlotStart, Gen.Int[1, 3], (d, at, blocks) => (Op)new Op.Unmap(d, at, (ulong)blocks << _layout.SlotShift));

    private Gen<Op> UnmapGiga => Gen.Select(
        Domain, Upper, (d, upper) => (Op)new Op.Unmap(d, new Place(Window.Giga, 0, 0, upper), (ulong)_layout.GigaSlots << _layout.SlotShift));

    /// <summary>One in four is done twice: the repeat must hit the TLB (a global entry included).</summary>
    private Gen<Op> Translate => Gen.Select(AnyPlace, Gen.Int[0, (int)_layout.PageSize - 1], Access, Gen.Int[0, 3],
                                            (at, offset, access, twice) => (Op)new Op.Translate(at, offset, access, Twice: twice == 0));

    /// <summary>Pages near one place (a buffer), or anywhere at all.</summary>
    private Gen<Op> TranslateBatch => Gen.Select(
        Gen.Frequency((1, AnyPlace.Array[1, 16]),
                      (1, Gen.Select(MapPlace, Gen.Int[0, 3].Array[1, 16], (at, near) => near.Select(n => at with { Page = at.Page + n }).ToArray()))),
        Access, (at, access) => (Op)new Op.TranslateBatch(at, access));

    private Gen<Op> IovaToPhys => Gen.Select(Domain, AnyPlace, (d, at) => (Op)new Op.IovaToPhys(d, at));

    /// <summary>Any slot; on a split bank rarely the base domain (which disables TTBR0: every lower-half access then faults).</summary>
    private Gen<Op> Switch => (_profile.Split
        ? Gen.Frequency((1, Gen.Const(ReferenceModel.BaseSlot)), (6, Gen.Int[1, ReferenceModel.Slots - 1]))
        : Gen.Int[0, ReferenceModel.Slots - 1]).Select(s => (Op)new Op.Switch(s));

    private static Gen<Op> Attach => Gen.Int[1, ReferenceModel.Slots - 1].Select(s => (Op)new Op.Attach(s));

    private static Gen<Op> Detach => Gen.Int[1, ReferenceModel.Slots - 1].Select(s => (Op)new Op.Detach(s));

    private static Gen<Op> Recycle => Gen.Int[1, ReferenceModel.Slots - 1].Select(s => (Op)new Op.Recycle(s));

    /// <summary>Invalidate-all is rare: it would hide the stale entries the other operations are there to catch.</summary>
    private Gen<Op> Invalidate => Gen.Select(
        _profile.Stage2
            ? Gen.Frequency((3, Gen.Const(TlbScope.All)), (25, Gen.Const(TlbScope.Asid)), (40, Gen.Const(TlbScope.AsidVa)), (22, Gen.Const(TlbScope.VaAll)),
                            (4, Gen.Const(TlbScope.Vmid)), (6, Gen.Const(TlbScope.Ipa)))
            : Gen.Frequency((3, Gen.Const(TlbScope.All)), (27, Gen.Const(TlbScope.Asid)), (45, Gen.Const(TlbScope.AsidVa)), (25, Gen.Const(TlbScope.VaAll))),
        Gen.Frequency((95, Gen.Int[0, ReferenceModel.Slots - 1]), (5, Gen.Const(Op.Invalidate.OutOfRange))),
        Gen.Frequency((9, AnyPlace), (1, IpaPlace)),
        Gen.Frequency((97, Gen.Int[0, 11].Select(k => 1L << k)), (3, Gen.Const(0L))),
        (scope, asid, at, pages) => (Op)new Op.Invalidate(scope, asid, at, Pages(pages)));

    private static readonly Gen<Op> Audit = Gen.Const((Op)new Op.Audit());

    // ---- stage-2 operations ---------------------------------------------------------------------

    /// <summary>
    /// Stage-2 maps of the data window: pages, level-2 blocks; any output; stage-2 prots. (Not the 4K
    /// granule's 1 GiB block: 2^18 reference pages each, and the stage-1 runs cover its splits.)
    /// </summary>
    private Gen<Op> Stage2Map => Gen.Select(
        Gen.Frequency((1, Gen.Select(Gen.Int[0, IovaLayout.IpaSlots - 1], s => new Place(Window.Ipa, s, 0))), (2, Skewed(IpaPlace))),
        Gen.Frequency((5, Gen.Long[1, 8].Select(Pages)), (3, Gen.Int[1, 2].Select(b => (ulong)b << _layout.SlotShift))),
        AnyPa, Stage2Prot,
        (at, size, pa, prot) => (Op)new Op.Map(DomainRef.Stage2, at, size, pa, prot));

    /// <summary>Stage-2 unmaps of the data window: every combined translation through it must go.</summary>
    private Gen<Op> Stage2Unmap => Gen.Select(
        Skewed(IpaPlace), Gen.Frequency((9, Gen.Long[1, 64].Select(Pages)), (1, Gen.Int[1, 2].Select(b => (ulong)b << _layout.SlotShift))),
        (at, size) => (Op)new Op.Unmap(DomainRef.Stage2, at, size));

    /// <summary>The whole pool (rarely), or the stage-2 page of one table on a walk the run uses.</summary>
    private Gen<PoolTarget> PoolTargets(int wholeWeight) => Gen.Frequency(
        (wholeWeight, Gen.Const(new PoolTarget(true, DomainRef.Active, default, 0))),
        (12, Gen.Select(Gen.Frequency((3, Gen.Const(DomainRef.Owner)), (1, Gen.Int[0, ReferenceModel.Slots - 1].Select(s => new DomainRef(s)))),
                       MapPlace, Gen.Int[0, ReferenceGeometry.LeafLevel],
                       (d, at, level) => new PoolTarget(false, d, at, level))));

    private Gen<Op> PoolUnmap => PoolTargets(wholeWeight: 1).Select(t => (Op)new Op.PoolUnmap(t));

    /// <summary>Half of them map every hole, so that a broken pool does not stay broken for the rest of a sample.</summary>
    private Gen<Op> PoolMap => Gen.Select(
        PoolTargets(wholeWeight: 6), Gen.Frequency((5, Gen.Const(SmmuProt.Read | SmmuProt.Write)), (2, Gen.Const(SmmuProt.Read)), (2, Gen.Const(SmmuProt.Write))),
        (t, prot) => (Op)new Op.PoolMap(t, prot));

    private Gen<Op> TranslateIpa => Gen.Select(IpaTarget, Gen.Int[0, (int)_layout.PageSize - 1], Access, Gen.Int[0, 3],
                                               (at, offset, access, twice) => (Op)new Op.Translate(at, offset, access, Stream: 1, Twice: twice == 0));

    private Gen<Op> TranslateIpaBatch => Gen.Select(IpaTarget.Array[1, 16], Access, (at, access) => (Op)new Op.TranslateBatch(at, access, Stream: 1));

    private Gen<Op> Stage2IovaToPhys => Gen.Select(IpaTarget, at => (Op)new Op.IovaToPhys(DomainRef.Stage2, at));

    /// <summary>
    /// A working set, as a process touches a buffer of 1..64 pages: sometimes a map of it first, then 2..12
    /// translations of its pages. Without it, translations would rarely meet a page twice while it is
    /// mapped, and the TLB would rarely hit or fill its sets; with it, a printed sequence still names every
    /// address plainly.
    /// </summary>
    private Gen<Op[]> WorkingSet => Gen.Select(
        MapPlace, Gen.Bool, Gen.Frequency((1, Gen.Long[1, 8]), (1, Gen.Long[9, 64])), Stage1Pa(AnyPa), Prot,
        Gen.Select(Gen.Int[0, 63], Gen.Int[0, (int)_layout.PageSize - 1], Access).Array[2, 12],
        (at, map, pages, pa, prot, touches) =>
        {
            var ops = new List<Op>();
            if (map)
                ops.Add(new Op.Map(_profile.Split ? DomainRef.Owner : DomainRef.Active, at, Pages(pages), pa, prot));
            foreach (var (page, offset, access) in touches)
                ops.Add(new Op.Translate(at with { Page = at.Page + page % (int)pages }, offset, access));
            return ops.ToArray();
        });

    /// <summary>
    /// A process's global buffer, as one story: process k maps it GLOBAL and touches it (twice: the repeat
    /// hits the TLB), process j touches the same addresses (it may get k's cached translation), then one
    /// of the things that do or do not end that — k detached and its buffer unmapped (only the unmap of a
    /// global leaf reaches the entry then), unmapped while attached, k only detached (TLBIASID spares
    /// globals), TLBIASID, TLBIVA under j's ASID, k's domain freed, nothing — and j touches them again. The
    /// other paths to these states exist in the single-operation mix, but are too long to be met often.
    /// </summary>
    private Gen<Op[]> GlobalStory => Gen.Select(
        Gen.Select(Gen.Int[1, ReferenceModel.Slots - 1], Gen.Int[0, ReferenceModel.Slots - 1], Gen.Int[0, 6], (k, j, ending) => (k, j, ending)),
        Gen.Select(Gen.Int[0, IovaLayout.SmallSlots - 1], HotPage, Gen.Long[1, 4], (slot, page, pages) => (At: new Place(Window.Small, slot, page), Size: Pages(pages))),
        Stage1Pa(AnyPa), Prot, Access, Access, Gen.Int[0, (int)_layout.PageSize - 1],
        (who, buffer, pa, prot, access, later, offset) =>
        {
            var (k, j, ending) = who;
            var (at, size) = buffer;
            var ops = new List<Op>
            {
                new Op.Switch(k),
                new Op.Map(new DomainRef(k), at, size, pa, prot | SmmuProt.Global),
                new Op.Translate(at, offset, access, Twice: true),
                new Op.Switch(j),
                new Op.Translate(at, offset, access),
            };
            ops.AddRange(ending switch
            {
                0 => [new Op.Detach(k), new Op.Unmap(new DomainRef(k), at, size)],
                1 => [new Op.Unmap(new DomainRef(k), at, size)],
                2 => [new Op.Detach(k)],
                3 => [new Op.Invalidate(TlbScope.Asid, k, at, size)],
                4 => [new Op.Invalidate(TlbScope.AsidVa, j, at, size)],
                5 => [new Op.Recycle(k)],
                _ => Array.Empty<Op>(),
            });
            ops.Add(new Op.Switch(j));
            ops.Add(new Op.Translate(at, offset, access, Twice: true));
            ops.Add(new Op.Translate(at with { Page = at.Page + 1 }, offset / 2, later));
            ops.Add(new Op.Attach(k));
            return ops.ToArray();
        });

    /// <summary>
    /// A table page taken from the guest and given back, as one story (stage-2 runs): a buffer mapped and
    /// touched, the stage-2 page holding one of the tables on its walk unmapped (stage 2 faults on the table
    /// fetch, S1PTW), mapped again read-only or write-only (a write-only page faults the fetch on
    /// permission), unmapped, mapped again read/write, touched each time.
    /// </summary>
    private Gen<Op[]> PoolStory => Gen.Select(
        MapPlace, Gen.Int[0, ReferenceGeometry.LeafLevel], Stage1Pa(AnyPa), Prot, Access,
        Gen.Frequency((1, Gen.Const(SmmuProt.Read)), (2, Gen.Const(SmmuProt.Write))),
        (at, level, pa, prot, access, partial) =>
        {
            var target = new PoolTarget(false, DomainRef.Owner, at, level);
            var owner = _profile.Split ? DomainRef.Owner : DomainRef.Active;
            return new Op[]
            {
                new Op.Map(owner, at, _layout.PageSize, pa, prot),
                new Op.Translate(at, 0x10, access),
                new Op.PoolUnmap(target),
                new Op.Translate(at, 0x20, access),
                new Op.PoolMap(target, partial),
                new Op.Translate(at, 0x30, access),
                new Op.PoolUnmap(target),
                new Op.PoolMap(target, SmmuProt.Read | SmmuProt.Write),
                new Op.Translate(at, 0x40, access, Twice: true),
            };
        });

    /// <summary>One operation, in the mix above.</summary>
    private Gen<Op> Operation()
    {
        var mix = new List<(int, IGen<Op>)>
        {
            (430, Translate), (50, TranslateBatch), (20, IovaToPhys),
            (130, MapPages), (40, MapSlots), (2, MapBig),
            (75, UnmapRange), (8, UnmapSlots), (1, UnmapGiga),
            (40, Switch), (40, Invalidate), (3, Audit), (5, Recycle),
            (Math.Max(1, _profile.Churn / 2), Detach), (Math.Max(1, _profile.Churn / 2), Attach),
        };
        if (_profile.Stage2)
        {
            mix.AddRange(new (int, IGen<Op>)[]
            {
                (40, Stage2Map), (12, Stage2Unmap), (6, PoolUnmap), (10, PoolMap),
                (50, TranslateIpa), (8, TranslateIpaBatch), (5, Stage2IovaToPhys),
            });
        }
        return Gen.Frequency(mix.ToArray());
    }
}
