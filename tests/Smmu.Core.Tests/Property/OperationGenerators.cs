using CsCheck;
using static Smmu.Core.Tests.Property.IovaLayout;

namespace Smmu.Core.Tests.Property;

/// <summary>
/// CsCheck generators for <see cref="Op"/> sequences. Everything is drawn from small index spaces (two
/// Small slots, a handful of hot pages, four domain slots) so that maps overlap, translations hit what was
/// mapped and unmaps cut through blocks — often enough that a short random sequence already finds a bug,
/// which is what CsCheck's shrinking searches for. No generator looks at the state: a sequence is data,
/// fixed by its seed, and replays against whatever state it meets.
/// <para>The single-operation mix, in parts per thousand: translate 430 (batches 50), map 173 (pages 130,
/// 2 MiB-aligned 40, 1 GiB 3), unmap 84, switch 40, invalidate 40, iova_to_phys 20, audit 3; detach and
/// attach take <see cref="RunProfile.Churn"/> on top. One step in ten is a <see cref="WorkingSet"/>
/// instead, so about half of all operations are translations. The counts each run prints show where
/// the mix lands (hits, evictions, EEXIST, splits, every fault kind and level).</para>
/// </summary>
internal static class OperationGenerators
{
    // ---- addresses ------------------------------------------------------------------------------

    /// <summary>Mostly the first eight pages of a slot or its last eight (so ranges cross into the next slot), sometimes any.</summary>
    private static readonly Gen<int> HotPage = Gen.Frequency(
        (7, Gen.Int[0, 7]), (1, Gen.Int[PagesPerSlot - 8, PagesPerSlot - 1]), (2, Gen.Int[0, PagesPerSlot - 1]));

    private static readonly Gen<int> GigaSlot = Gen.Frequency(
        (8, Gen.OneOf(HotGigaSlots)), (2, Gen.Int[0, GigaSlots - 1]));

    private static readonly Gen<Place> SmallPlace = Gen.Select(Gen.Int[0, SmallSlots - 1], HotPage, (s, p) => new Place(Window.Small, s, p));
    private static readonly Gen<Place> GigaPlace = Gen.Select(GigaSlot, HotPage, (s, p) => new Place(Window.Giga, s, p));
    private static readonly Gen<Place> AnywherePlace = Gen.Select(Gen.Int[0, (1 << 27) - 1], Gen.Int[0, PagesPerSlot - 1], (s, p) => new Place(Window.Anywhere, s, p));
    private static readonly Gen<Place> BeyondPlace = Gen.Select(Gen.Int[0, 3], HotPage, (s, p) => new Place(Window.Beyond, s, p));
    private static readonly Gen<Place> TopPlace = Gen.Int[0, 7].Select(p => new Place(Window.Top, 0, p));

    /// <summary>Where translations, unmaps and invalidations go: mostly where maps go, rarely anywhere or out of range.</summary>
    private static readonly Gen<Place> AnyPlace = Gen.Frequency(
        (85, SmallPlace), (10, GigaPlace), (2, AnywherePlace), (2, BeyondPlace), (1, TopPlace));

    /// <summary>Where maps and working sets go.</summary>
    private static readonly Gen<Place> MapPlace = Gen.Frequency((4, SmallPlace), (1, GigaPlace));

    private static readonly Gen<Place> SlotStart = Gen.Frequency(
        (2, Gen.Int[0, SmallSlots - 1].Select(s => new Place(Window.Small, s, 0))),
        (1, GigaSlot.Select(s => new Place(Window.Giga, s, 0))));

    /// <summary>Output addresses: 1 GiB-, 2 MiB- or only page-aligned, rarely beyond 2^48 (Range).</summary>
    private static Gen<OutputAddress> Pa(int alignmentPages) => Gen.Frequency(
        (99, Gen.Select(Gen.Int[1, 255], Gen.Int[0, (int)(PagesPerGib / alignmentPages) - 1], (g, p) => new OutputAddress(g, p * alignmentPages))),
        (1, Gen.Const(new OutputAddress(1 << 18, 0))));

    private static readonly Gen<OutputAddress> AnyPa = Gen.Frequency((2, Pa((int)PagesPerGib)), (1, Pa(PagesPerSlot)), (1, Pa(1)));

    // ---- attributes -----------------------------------------------------------------------------

    private static readonly Gen<DomainRef> Domain = Gen.Frequency(
        (3, Gen.Const(DomainRef.Active)), (1, Gen.Int[0, ReferenceModel.Slots - 1].Select(s => new DomainRef(s))));

    /// <summary>Read, write or both, each extra flag with probability 3/10; rarely no access or an unknown bit (Invalid).</summary>
    private static readonly Gen<SmmuProt> Prot = Gen.Frequency(
        (97, Gen.Select(Gen.OneOf(SmmuProt.Read, SmmuProt.Write, SmmuProt.Read | SmmuProt.Write),
                        Gen.Int[0, 9], Gen.Int[0, 9], Gen.Int[0, 9], Gen.Int[0, 9],
                        (rw, cache, noExec, mmio, priv) => rw | (cache < 3 ? SmmuProt.Cache : 0) | (noExec < 3 ? SmmuProt.NoExec : 0)
                                                         | (mmio < 3 ? SmmuProt.Mmio : 0) | (priv < 3 ? SmmuProt.Priv : 0))),
        (3, Gen.OneOf(SmmuProt.None, SmmuProt.Cache, (SmmuProt)0x80 | SmmuProt.Read)));   // malformed: refused

    private static readonly SmmuAccess[] AccessKinds =
    [
        SmmuAccess.Read, SmmuAccess.Write, SmmuAccess.Exec,
        SmmuAccess.Read | SmmuAccess.Write, SmmuAccess.Read | SmmuAccess.Exec, SmmuAccess.Read | SmmuAccess.Write | SmmuAccess.Exec,
    ];

    /// <summary>Every kind, privileged or not; rarely no kind or an unknown bit (Invalid).</summary>
    private static readonly Gen<SmmuAccess> Access = Gen.Frequency(
        (97, Gen.Select(Gen.OneOf(AccessKinds), Gen.Bool, (kind, priv) => priv ? kind | SmmuAccess.Priv : kind)),
        (3, Gen.OneOf(SmmuAccess.None, SmmuAccess.Priv, (SmmuAccess)0x10 | SmmuAccess.Read)));

    // ---- operations -----------------------------------------------------------------------------

    /// <summary>1..8 pages, sometimes up to 64, mostly in the Small window; any output alignment.</summary>
    private static readonly Gen<Op> MapPages = Gen.Select(
        Domain, Gen.Frequency((97, MapPlace), (1, AnywherePlace), (1, BeyondPlace), (1, TopPlace)),
        Gen.Frequency((6, Gen.Long[1, 8]), (3, Gen.Long[1, 64])), AnyPa, Prot,
        (d, at, pages, pa, prot) => (Op)new Op.Map(d, at, pages, pa, prot));

    /// <summary>One or two 2 MiB blocks at a slot start, sometimes with pages after, sometimes with an output that forces pages.</summary>
    private static readonly Gen<Op> MapTwoMib = Gen.Select(
        Domain, SlotStart, Gen.Int[1, 2], Gen.Frequency((2, Gen.Const(0)), (1, Gen.Int[1, 8])),
        Gen.Frequency((3, Pa(PagesPerSlot)), (1, Pa(1))), Prot,
        (d, at, blocks, extra, pa, prot) => (Op)new Op.Map(d, at, (long)blocks * PagesPerSlot + extra, pa, prot));

    /// <summary>The 1 GiB block, sometimes followed by a 2 MiB block and a page.</summary>
    private static readonly Gen<Op> MapOneGib = Gen.Select(
        Domain, Gen.Bool, Pa((int)PagesPerGib), Prot,
        (d, more, pa, prot) => (Op)new Op.Map(d, new Place(Window.Giga, 0, 0), PagesPerGib + (more ? PagesPerSlot + 1 : 0), pa, prot));

    /// <summary>1 page to 512 KiB, log-uniform; rarely nothing at all (Invalid).</summary>
    private static readonly Gen<Op> UnmapRange = Gen.Select(
        Domain, AnyPlace, Gen.Frequency((97, Gen.Select(Gen.Int[0, 7], Gen.Int[0, 3], (k, j) => (1L << k) + j)), (3, Gen.Const(0L))),
        (d, at, pages) => (Op)new Op.Unmap(d, at, pages));

    private static readonly Gen<Op> UnmapTwoMib = Gen.Select(
        Domain, SlotStart, Gen.Int[1, 3], (d, at, blocks) => (Op)new Op.Unmap(d, at, (long)blocks * PagesPerSlot));

    private static readonly Gen<Op> UnmapGiga = Domain.Select(d => (Op)new Op.Unmap(d, new Place(Window.Giga, 0, 0), (long)GigaSlots * PagesPerSlot));

    private static readonly Gen<Op> Translate = Gen.Select(AnyPlace, Gen.Int[0, (int)PageSize - 1], Access, (at, offset, access) => (Op)new Op.Translate(at, offset, access));

    /// <summary>Pages near one place (a buffer), or anywhere at all.</summary>
    private static readonly Gen<Op> TranslateBatch = Gen.Select(
        Gen.Frequency((1, AnyPlace.Array[1, 16]),
                      (1, Gen.Select(MapPlace, Gen.Int[0, 3].Array[1, 16], (at, near) => near.Select(n => at with { Page = at.Page + n }).ToArray()))),
        Access, (at, access) => (Op)new Op.TranslateBatch(at, access));

    private static readonly Gen<Op> IovaToPhys = Gen.Select(Domain, AnyPlace, (d, at) => (Op)new Op.IovaToPhys(d, at));

    private static readonly Gen<Op> Switch = Gen.Int[0, ReferenceModel.Slots - 1].Select(s => (Op)new Op.Switch(s));

    private static readonly Gen<Op> Attach = Gen.Int[1, ReferenceModel.Slots - 1].Select(s => (Op)new Op.Attach(s));

    private static readonly Gen<Op> Detach = Gen.Int[1, ReferenceModel.Slots - 1].Select(s => (Op)new Op.Detach(s));

    /// <summary>Invalidate-all is rare: it would hide the stale entries the other operations are there to catch.</summary>
    private static readonly Gen<Op> Invalidate = Gen.Select(
        Gen.Frequency((3, TlbScope.All), (27, TlbScope.Asid), (45, TlbScope.AsidVa), (25, TlbScope.VaAll)),
        Gen.Frequency((95, Gen.Int[0, ReferenceModel.Slots - 1]), (5, Gen.Const(Op.Invalidate.AsidBeyondRange))),
        AnyPlace,
        Gen.Frequency((97, Gen.Int[0, 11].Select(k => 1L << k)), (3, Gen.Const(0L))),
        (scope, asid, at, pages) => (Op)new Op.Invalidate(scope, asid, at, pages));

    private static readonly Gen<Op> Audit = Gen.Const((Op)new Op.Audit());

    /// <summary>
    /// A working set, as a process touches a buffer of 1..64 pages: sometimes a map of it first, then 2..12
    /// translations of its pages. Without it, translations would rarely meet a page twice while it is
    /// mapped, and the TLB would rarely hit or fill its sets; with it, a printed sequence still names every
    /// address plainly.
    /// </summary>
    private static readonly Gen<Op[]> WorkingSet = Gen.Select(
        MapPlace, Gen.Bool, Gen.Frequency((1, Gen.Long[1, 8]), (1, Gen.Long[9, 64])), AnyPa, Prot,
        Gen.Select(Gen.Int[0, 63], Gen.Int[0, (int)PageSize - 1], Access).Array[2, 12],
        (at, map, pages, pa, prot, touches) =>
        {
            var ops = new List<Op>();
            if (map)
                ops.Add(new Op.Map(DomainRef.Active, at, pages, pa, prot));
            foreach (var (page, offset, access) in touches)
                ops.Add(new Op.Translate(at with { Page = at.Page + page % (int)pages }, offset, access));
            return ops.ToArray();
        });

    /// <summary>One operation, in the mix above.</summary>
    public static Gen<Op> Operation(RunProfile profile) => Gen.Frequency(
        (430, Translate), (50, TranslateBatch), (20, IovaToPhys),
        (130, MapPages), (40, MapTwoMib), (3, MapOneGib),
        (75, UnmapRange), (8, UnmapTwoMib), (1, UnmapGiga),
        (40, Switch), (40, Invalidate), (3, Audit),
        (Math.Max(1, profile.Churn / 2), Detach), (Math.Max(1, profile.Churn / 2), Attach));

    /// <summary>
    /// A whole sample: 1 to <see cref="RunProfile.MaxSteps"/> steps, a step being one operation or (one in
    /// ten) a working set. Long enough to reach deep states (full TLB sets, split blocks, reused ASIDs);
    /// CsCheck's shrinking prefers fewer steps, then simpler values.
    /// </summary>
    public static Gen<Op[]> Sequence(RunProfile profile) =>
        Gen.Frequency((9, Operation(profile).Select(op => new[] { op })), (1, WorkingSet))
           .Array[1, profile.MaxSteps]
           .Select(steps => steps.SelectMany(step => step).ToArray());
}
