using System.Globalization;

namespace Smmu.Core.Tests.Property;

/// <summary>
/// Which domain an operation acts on: one of the run's slots (0 is the base domain, 1..3 dynamic), or
/// whichever is active when the operation runs. "Active" keeps a shrunk sequence meaningful without the
/// switches that led there: a map on the active domain is what the next translation sees.
/// </summary>
internal readonly record struct DomainRef(int Slot)
{
    public const int ActiveSlot = -1;

    public static DomainRef Active => new(ActiveSlot);

    public bool IsActive => Slot == ActiveSlot;

    public override string ToString() => IsActive ? "d*" : $"d{Slot}";
}

/// <summary>Where an IOVA lies; see <see cref="IovaLayout"/> for what each window is for.</summary>
internal enum Window
{
    /// <summary>A few 2 MiB slots where pages, ranges and 2 MiB blocks collide all the time.</summary>
    Small,
    /// <summary>The 1 GiB slot at 1 GiB (and a little beyond it): 1 GiB blocks and their splits.</summary>
    Giga,
    /// <summary>Anywhere below 2^ias.</summary>
    Anywhere,
    /// <summary>Just beyond 2^ias.</summary>
    Beyond,
    /// <summary>The last pages below 2^64, where a range wraps around.</summary>
    Top,
}

/// <summary>
/// An IOVA named by small indices — a window, a 2 MiB slot in it, a 4 KiB page in the slot — rather than
/// by a number, so that generated operations land on each other often and a printed sequence reads as
/// "the same page" at a glance. <see cref="IovaLayout.Iova"/> turns it into an address.
/// </summary>
internal readonly record struct Place(Window Window, int Slot, int Page)
{
    public override string ToString() => Window switch
    {
        Window.Small => $"S{Slot}.{Page}",
        Window.Giga => $"G{Slot}.{Page}",
        Window.Anywhere => $"A{Slot}.{Page}",
        Window.Beyond => $"B{Slot}.{Page}",
        _ => $"Top-{Page + 1}",
    };
}

/// <summary>An output address by index: <c>Gib</c> GiB plus <c>Page</c> 4 KiB pages (so its alignment is visible).</summary>
internal readonly record struct OutputAddress(int Gib, int Page)
{
    public ulong Value => ((ulong)Gib << IovaLayout.GibShift) + ((ulong)Page << IovaLayout.PageShift);

    public override string ToString() => Page == 0 ? $"pa {Gib}G" : $"pa {Gib}G+0x{(ulong)Page << IovaLayout.PageShift:X}";
}

/// <summary>Which TLB maintenance an <see cref="Op.Invalidate"/> issues.</summary>
internal enum TlbScope
{
    /// <summary>TLBIALL.</summary>
    All,
    /// <summary>TLBIASID.</summary>
    Asid,
    /// <summary>TLBIVA over a range, one ASID.</summary>
    AsidVa,
    /// <summary>TLBIVAA over a range, every ASID.</summary>
    VaAll,
}

/// <summary>
/// One step of a property run, as plain data. Every operation can be applied in any state — one that does
/// not fit the state (a switch to a detached domain, an overlapping map) tests the error path, and the
/// reference predicts its code — so any subsequence of a sequence is itself a valid sequence. That is what
/// lets a failing sequence be shrunk by dropping operations.
/// <para>To add an operation: a record here, a generator in <see cref="OperationGenerators"/>, a prediction
/// in <see cref="ReferenceModel"/>, and a case in <see cref="PropertyRunner.Apply"/>.</para>
/// </summary>
internal abstract record Op
{
    /// <summary><c>map(domain, iova, pa, pages × 4 KiB, prot)</c>.</summary>
    internal sealed record Map(DomainRef Domain, Place At, long Pages, OutputAddress Pa, SmmuProt Prot) : Op
    {
        public override string ToString() => $"Map({Domain}, {At} +{Format.Pages(Pages)} -> {Pa}, {Format.Flags(Prot)})";
    }

    /// <summary><c>unmap(domain, iova, pages × 4 KiB)</c>.</summary>
    internal sealed record Unmap(DomainRef Domain, Place At, long Pages) : Op
    {
        public override string ToString() => $"Unmap({Domain}, {At} +{Format.Pages(Pages)})";
    }

    /// <summary>One transaction through the stream, at a byte <paramref name="Offset"/> into the page.</summary>
    internal sealed record Translate(Place At, int Offset, SmmuAccess Access) : Op
    {
        public override string ToString() => $"Translate({At}+0x{Offset:X}, {Format.Flags(Access)})";
    }

    /// <summary>A batch of transactions with one access kind; the model stops at the first that fails.</summary>
    internal sealed record TranslateBatch(Place[] At, SmmuAccess Access) : Op
    {
        public override string ToString() => $"TranslateBatch([{string.Join(' ', At)}], {Format.Flags(Access)})";
    }

    /// <summary><c>iova_to_phys(domain, iova)</c>: the software walk.</summary>
    internal sealed record IovaToPhys(DomainRef Domain, Place At) : Op
    {
        public override string ToString() => $"IovaToPhys({Domain}, {At})";
    }

    /// <summary>Points the bank at slot <paramref name="Slot"/>'s domain (<c>switch_domain</c>).</summary>
    internal sealed record Switch(int Slot) : Op
    {
        public override string ToString() => $"Switch(d{Slot})";
    }

    /// <summary>Attaches dynamic slot <paramref name="Slot"/> (1..3) again; Busy while it is attached.</summary>
    internal sealed record Attach(int Slot) : Op
    {
        public override string ToString() => $"Attach(d{Slot})";
    }

    /// <summary>Detaches dynamic slot <paramref name="Slot"/> (1..3); its ASID goes back to the allocator.</summary>
    internal sealed record Detach(int Slot) : Op
    {
        public override string ToString() => $"Detach(d{Slot})";
    }

    /// <summary>
    /// Explicit TLB maintenance. The ASID is slot <paramref name="AsidSlot"/>'s current one, or the last it
    /// had while detached (by now free, or another domain's); <see cref="AsidBeyondRange"/> names an ASID
    /// beyond asid_bits.
    /// </summary>
    internal sealed record Invalidate(TlbScope Scope, int AsidSlot, Place At, long Pages) : Op
    {
        public const int AsidBeyondRange = -1;

        public override string ToString() => Scope switch
        {
            TlbScope.All => "InvalidateAll()",
            TlbScope.Asid => $"InvalidateAsid({AsidName})",
            TlbScope.AsidVa => $"InvalidateVa({AsidName}, {At} +{Format.Pages(Pages)})",
            _ => $"InvalidateVaAll({At} +{Format.Pages(Pages)})",
        };

        private string AsidName => AsidSlot == AsidBeyondRange ? "asid 2^bits" : $"asid of d{AsidSlot}";
    }

    /// <summary>Compares the tables page by page (<c>iova_to_phys</c>) and the pool's accounting with the reference.</summary>
    internal sealed record Audit : Op
    {
        public override string ToString() => "Audit()";
    }
}

/// <summary>Sizes and flags as a reader wants them in a printed sequence.</summary>
internal static class Format
{
    /// <summary>Flags joined with '|' (the enum's own ", " would read as further arguments).</summary>
    public static string Flags<T>(T flags) where T : struct, Enum => flags.ToString().Replace(", ", "|", StringComparison.Ordinal);

    public static string Pages(long pages) => Bytes((ulong)pages << IovaLayout.PageShift);

    public static string Bytes(ulong bytes)
    {
        if (bytes == 0)
            return "0";
        var parts = new List<string>();
        foreach (var (shift, unit) in new[] { (IovaLayout.GibShift, "G"), (IovaLayout.MibShift, "M"), (IovaLayout.PageShift, "p") })
        {
            ulong count = bytes >> shift;
            if (count == 0)
                continue;
            parts.Add(count.ToString(CultureInfo.InvariantCulture) + unit);
            bytes -= count << shift;
        }
        return string.Join('+', parts);
    }
}
