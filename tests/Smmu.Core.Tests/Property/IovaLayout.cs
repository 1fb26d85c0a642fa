namespace Smmu.Core.Tests.Property;

/// <summary>
/// Where a run puts its addresses, for one granule, and how a <see cref="Place"/> becomes one. A
/// <em>slot</em> is a level-2 block (2 MiB, 32 MiB, 512 MiB for 4K, 16K, 64K) and a <em>page</em> a
/// granule page. Two windows take almost everything, so that operations collide:
/// <see cref="Window.Small"/>, two slots at <see cref="SmallBase"/> (pages, ranges and level-2 blocks;
/// ranges spill into the next two slots), and <see cref="Window.Giga"/>, the largest block at
/// <see cref="GigaBase"/> (the 4K granule's 1 GiB, 512 slots; one slot otherwise) and two slots beyond it,
/// for the largest blocks and their splits. A place in the upper half (<see cref="Place.Upper"/>) is the
/// same offset from 2^64 − 2^ias: a split bank's TTBR1 half.
/// <para>Stage 2 has its own windows: <see cref="Window.Ipa"/>, a few slots of IPAs at <see cref="IpaBase"/>
/// (data, mapped by stage 2, where nested runs send most stage-1 outputs), and <see cref="Window.Pool"/>,
/// the pages of the table pool (which stage 2 maps IPA = PA for nested walks).</para>
/// </summary>
internal sealed class IovaLayout
{
    public const int SmallSlots = 2;
    /// <summary>Slots an audit probes in the Small window: the two generated into and the two ranges spill into.</summary>
    public const int SmallProbeSlots = 4;
    /// <summary>Slots of the IPA window.</summary>
    public const int IpaSlots = 4;
    /// <summary>The IPA window: 8 GiB, clear of any table pool (below 4 GiB + 4 GiB) and aligned to every block size.</summary>
    public const ulong IpaBase = 8UL << 30;

    public IovaLayout(ReferenceGeometry geometry)
    {
        Geometry = geometry;
        SlotShift = geometry.LevelShift(2);
        BigShift = geometry.LevelShift(geometry.FirstBlockLevel);
        SmallBase = 128UL << SlotShift;
        GigaBase = geometry.PageShift == 12 ? 1UL << 30 : 256UL << SlotShift;
        GigaSlots = (int)(BigSize / SlotSize) + 2;
        HotGigaSlots = geometry.PageShift == 12 ? [0, 1, 2, 3, 510, 511, 512, 513] : [0, 1, 2];
        ProbeOffsets = BuildProbes();
    }

    public ReferenceGeometry Geometry { get; }

    public int PageShift => Geometry.PageShift;
    public ulong PageSize => Geometry.PageSize;

    /// <summary>log2 of a slot: the level-2 block.</summary>
    public int SlotShift { get; }
    public ulong SlotSize => 1UL << SlotShift;
    public int PagesPerSlot => 1 << (SlotShift - PageShift);

    /// <summary>log2 of the largest block: 1 GiB (4K), else the level-2 block.</summary>
    public int BigShift { get; }
    public ulong BigSize => 1UL << BigShift;

    public ulong SmallBase { get; }
    public ulong GigaBase { get; }
    /// <summary>The largest block's slots, and two beyond it.</summary>
    public int GigaSlots { get; }
    /// <summary>The Giga slots generated operations favour: the first and last inside the largest block, and those beyond it.</summary>
    public int[] HotGigaSlots { get; }

    /// <summary>
    /// The address <paramref name="place"/> names, given 2^ias and the pool's base. Beyond in the upper half
    /// is just below 2^64 − 2^ias (in neither half); Top is the last pages below 2^64.
    /// </summary>
    public ulong Address(Place place, ulong inputLimit, ulong poolBase)
    {
        ulong upperBase = 0UL - inputLimit;
        ulong inSlot = ((ulong)place.Slot << SlotShift) + ((ulong)place.Page << PageShift);
        ulong address = place.Window switch
        {
            Window.Small => SmallBase + inSlot,
            Window.Giga => GigaBase + inSlot,
            Window.Anywhere => inSlot & (inputLimit - 1),   // 2^ias is a power of two
            Window.Beyond => place.Upper ? upperBase - (4UL << SlotShift) + inSlot : inputLimit + inSlot,
            Window.Top => 0UL - ((ulong)place.Page + 1) * PageSize,
            Window.Ipa => IpaBase + inSlot,
            _ => poolBase + ((ulong)place.Page << PageShift),
        };
        if (place.Upper && place.Window is Window.Small or Window.Giga or Window.Anywhere or Window.Ipa)
            address += upperBase;
        return address + (place.Skew ? Place.SkewBytes : 0);
    }

    /// <summary>
    /// The offsets an audit compares in every stage-1 domain (and, moved to its half, a TTBR1 one): the
    /// Small window's probe slots and the hot Giga slots — every page with the 4K granule, else the first
    /// and last 16 pages and 32 between — and the first and last page of every other Giga slot (where a
    /// split block's pages would show a wrong output address).
    /// </summary>
    public ulong[] ProbeOffsets { get; }

    /// <summary>The IPAs an audit compares in a stage-2 domain: the IPA window as the Small window, and a page in 16 of the pool.</summary>
    public ulong[] Stage2Probes(ulong poolBase, ulong poolBytes)
    {
        var probes = new List<ulong>();
        for (int slot = 0; slot < IpaSlots; slot++)
            AddSlot(probes, IpaBase + ((ulong)slot << SlotShift), all: false);
        for (ulong offset = 0; offset < poolBytes; offset += 16 * PageSize)
            probes.Add(poolBase + offset);
        return probes.ToArray();
    }

    private ulong[] BuildProbes()
    {
        var probes = new List<ulong>();
        bool all = PageShift == 12;
        for (int slot = 0; slot < SmallProbeSlots; slot++)
            AddSlot(probes, SmallBase + ((ulong)slot << SlotShift), all);
        for (int slot = 0; slot < GigaSlots; slot++)
        {
            ulong start = GigaBase + ((ulong)slot << SlotShift);
            if (Array.IndexOf(HotGigaSlots, slot) >= 0)
            {
                AddSlot(probes, start, all);
            }
            else
            {
                probes.Add(start);
                probes.Add(start + SlotSize - PageSize);
            }
        }
        return probes.ToArray();
    }

    private void AddSlot(List<ulong> probes, ulong start, bool all)
    {
        int pages = PagesPerSlot, stride = Math.Max(1, pages / 32);
        for (int page = 0; page < pages; page++)
        {
            if (all || page < 16 || page >= pages - 16 || page % stride == 0)
                probes.Add(start + ((ulong)page << PageShift));
        }
    }
}
