namespace Smmu.Core.Tests.Property;

/// <summary>
/// Where property runs put their IOVAs, and how a <see cref="Place"/> becomes one. Two windows take
/// almost everything, so that operations collide: <see cref="Window.Small"/>, two 2 MiB slots at
/// <see cref="SmallBase"/> (pages, ranges and 2 MiB blocks; ranges spill into the next two slots), and
/// <see cref="Window.Giga"/>, the 1 GiB slot at <see cref="GigaBase"/> and two 2 MiB slots beyond it
/// (1 GiB blocks and their splits). The 4 KiB granule's geometry, as the reference sees it, is
/// <see cref="ReferenceGeometry"/>; this is only where the test aims.
/// </summary>
internal static class IovaLayout
{
    public const int PageShift = 12;
    public const int MibShift = 20;
    public const int TwoMibShift = 21;
    public const int GibShift = 30;
    public const ulong PageSize = 1UL << PageShift;
    public const ulong TwoMib = 1UL << TwoMibShift;
    public const ulong OneGib = 1UL << GibShift;
    public const int PagesPerSlot = (int)(TwoMib / PageSize);
    public const long PagesPerGib = (long)(OneGib / PageSize);

    public const ulong SmallBase = 0x1000_0000;
    /// <summary>Slots that generated operations start in; a range may run on into <see cref="SmallProbeSlots"/>.</summary>
    public const int SmallSlots = 2;
    public const int SmallProbeSlots = 4;

    public const ulong GigaBase = OneGib;
    /// <summary>The 1 GiB slot's 512 slots of 2 MiB, and two beyond it.</summary>
    public const int GigaSlots = PagesPerSlot + 2;
    /// <summary>The slots generated operations favour: the first four and the last two inside and the two beyond the 1 GiB slot.</summary>
    public static readonly int[] HotGigaSlots = [0, 1, 2, 3, 510, 511, 512, 513];

    /// <summary>The IOVA <paramref name="place"/> names, given the instance's 2^ias.</summary>
    public static ulong Iova(Place place, ulong inputLimit)
    {
        ulong inSlot = (ulong)place.Slot * TwoMib + (ulong)place.Page * PageSize;
        return place.Window switch
        {
            Window.Small => SmallBase + inSlot,
            Window.Giga => GigaBase + inSlot,
            Window.Anywhere => inSlot & (inputLimit - 1),   // 2^ias is a power of two
            Window.Beyond => inputLimit + inSlot,
            _ => 0UL - ((ulong)place.Page + 1) * PageSize,
        };
    }

    /// <summary>
    /// The pages an audit compares in every domain: every page of the Small window's slots, every page of
    /// the hot Giga slots, and the first and last page of every other Giga slot (where a split block's
    /// pages would show a wrong output address).
    /// </summary>
    public static readonly ulong[] ProbeIovas = BuildProbes();

    private static ulong[] BuildProbes()
    {
        var probes = new List<ulong>();
        for (int slot = 0; slot < SmallProbeSlots; slot++)
        {
            for (int page = 0; page < PagesPerSlot; page++)
                probes.Add(Iova(new Place(Window.Small, slot, page), ulong.MaxValue));
        }
        for (int slot = 0; slot < GigaSlots; slot++)
        {
            bool hot = Array.IndexOf(HotGigaSlots, slot) >= 0;
            for (int page = 0; page < PagesPerSlot; page++)
            {
                if (hot || page == 0 || page == PagesPerSlot - 1)
                    probes.Add(Iova(new Place(Window.Giga, slot, page), ulong.MaxValue));
            }
        }
        return probes.ToArray();
    }
}
