using System.Globalization;

namespace Smmu.Core.Tests.Property;

/// <summary>
/// Which domain an operation acts on: one of the run's slots (0 is the base domain, 1..3 dynamic, 4 the
/// stage-2 domain of a stage-2 run), whichever is active when the operation runs, or the owner of the
/// place's half (<see cref="Owner"/>). "Active" and "owner" keep a shrunk sequence meaningful without the
/// switches that led there: a map on the active domain is what the next translation sees.
/// </summary>
internal readonly record struct DomainRef(int Slot)
{
    public const int ActiveSlot = -1;
    public const int OwnerSlot = -2;

    public static DomainRef Active => new(ActiveSlot);

    /// <summary>The domain whose tables translate the place: a split bank's base domain for the upper half, else the active one.</summary>
    public static DomainRef Owner => new(OwnerSlot);

    public static DomainRef Stage2 => new(ReferenceModel.Stage2Slot);

    public override string ToString() => Slot switch
    {
        ActiveSlot => "d*",
        OwnerSlot => "d^",
        ReferenceModel.Stage2Slot => "s2",
        _ => $"d{Slot}",
    };
}

/// <summary>Where an address lies; see <see cref="IovaLayout"/> for what each window is for.</summary>
internal enum Window
{
    /// <summary>A few level-2 slots where pages, ranges and level-2 blocks collide all the time.</summary>
    Small,
    /// <summary>The largest block (1 GiB with 4K) and a little beyond it: the largest blocks and their splits.</summary>
    Giga,
    /// <summary>Anywhere below 2^ias.</summary>
    Anywhere,
    /// <summary>Just beyond 2^ias; in the upper half, just below 2^64 − 2^ias (in neither half).</summary>
    Beyond,
    /// <summary>The last pages below 2^64, where a range wraps around.</summary>
    Top,
    /// <summary>Stage 2's data IPAs.</summary>
    Ipa,
    /// <summary>The table pool's pages (IPA = PA under stage 2).</summary>
    Pool,
}

/// <summary>
/// An address named by small indices — a window, a slot (a level-2 block) in it, a granule page in the
/// slot, the half — rather than by a number, so that generated operations land on each other often and
/// a printed sequence reads as "the same page" at a glance. <see cref="Skew"/> adds 4 KiB: a place no
/// longer aligned to a 16K or 64K granule. <see cref="IovaLayout.Address"/> turns it into an address.
/// </summary>
internal readonly record struct Place(Window Window, int Slot, int Page, bool Upper = false, bool Skew = false)
{
    public const ulong SkewBytes = 4096;

    public override string ToString()
    {
        string text = Window switch
        {
            Window.Small => $"S{Slot}.{Page}",
            Window.Giga => $"G{Slot}.{Page}",
            Window.Anywhere => $"A{Slot}.{Page}",
            Window.Beyond => $"B{Slot}.{Page}",
            Window.Ipa => $"I{Slot}.{Page}",
            Window.Pool => $"P.{Page}",
            _ => $"Top-{Page + 1}",
        };
        return (Upper && Window != Window.Top ? "^" : "") + text + (Skew ? "+4K" : "");
    }
}

/// <summary>An output address (a PA, or an IPA in a nested run); printed as GiB plus an offset, so its alignment is visible.</summary>
internal readonly record struct OutputAddress(ulong Value)
{
    public override string ToString()
    {
        ulong gib = Value >> 30, offset = Value & ((1UL << 30) - 1);
        return offset == 0 ? $"pa {gib}G" : $"pa {gib}G+0x{offset:X}";
    }
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
    /// <summary>TLBIVMALL: the stage-2 domain's VMID.</summary>
    Vmid,
    /// <summary>TLBIIPAS2 over a range of the stage-2 domain's VMID.</summary>
    Ipa,
}

/// <summary>
/// The table-pool pages a <see cref="Op.PoolMap"/> or <see cref="Op.PoolUnmap"/> names: the whole pool, or
/// the stage-2 page holding the level-<paramref name="Level"/> table on the stage-1 walk of
/// <paramref name="At"/> in <paramref name="Domain"/> (the deepest table the walk has, if it stops sooner).
/// Resolved when the operation runs, from the tables in simulated memory: where a table lies is the
/// pool allocator's business, not the reference's.
/// </summary>
internal readonly record struct PoolTarget(bool Whole, DomainRef Domain, Place At, int Level)
{
    public override string ToString() => Whole ? "the whole pool" : $"the level-{Level} table of {Domain} at {At}";
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
    /// <summary><c>map(domain, address, pa, size, prot)</c>.</summary>
    internal sealed record Map(DomainRef Domain, Place At, ulong Size, OutputAddress Pa, SmmuProt Prot) : Op
    {
        public override string ToString() => $"Map({Domain}, {At} +{Format.Bytes(Size)} -> {Pa}, {Format.Flags(Prot)})";
    }

    /// <summary><c>unmap(domain, address, size)</c>.</summary>
    internal sealed record Unmap(DomainRef Domain, Place At, ulong Size) : Op
    {
        public override string ToString() => $"Unmap({Domain}, {At} +{Format.Bytes(Size)})";
    }

    /// <summary>
    /// One transaction, at a byte <paramref name="Offset"/> into the page: through the base domain's stream
    /// (<paramref name="Stream"/> 0, an IOVA), or in a stage-2 run through the stage-2 domain's own stream (1, an IPA).
    /// <paramref name="Twice"/>: if it succeeds, the same transaction at once again, which must hit the TLB.
    /// </summary>
    internal sealed record Translate(Place At, int Offset, SmmuAccess Access, int Stream = 0, bool Twice = false) : Op
    {
        public override string ToString() => $"Translate{StreamName(Stream)}{(Twice ? "Twice" : "")}({At}+0x{Offset:X}, {Format.Flags(Access)})";
    }

    /// <summary>A batch of transactions with one access kind; the model stops at the first that fails.</summary>
    internal sealed record TranslateBatch(Place[] At, SmmuAccess Access, int Stream = 0) : Op
    {
        public override string ToString() => $"TranslateBatch{StreamName(Stream)}([{string.Join(' ', At)}], {Format.Flags(Access)})";
    }

    /// <summary><c>iova_to_phys(domain, address)</c>: the software walk.</summary>
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
    /// Frees dynamic slot <paramref name="Slot"/>'s domain (detaching it first if attached) and puts a new,
    /// empty one attached in its place: a process exits and another starts. The free invalidates the old
    /// domain's global entries.
    /// </summary>
    internal sealed record Recycle(int Slot) : Op
    {
        public override string ToString() => $"Recycle(d{Slot})";
    }

    /// <summary>
    /// Explicit TLB maintenance. The ASID is slot <paramref name="AsidSlot"/>'s current one, or the last it
    /// had while detached (by now free, or another domain's); the VMID is the stage-2 domain's.
    /// <see cref="OutOfRange"/> names an ASID or VMID beyond its bits.
    /// </summary>
    internal sealed record Invalidate(TlbScope Scope, int AsidSlot, Place At, ulong Size) : Op
    {
        public const int OutOfRange = -1;

        public override string ToString() => Scope switch
        {
            TlbScope.All => "InvalidateAll()",
            TlbScope.Asid => $"InvalidateAsid({AsidName})",
            TlbScope.AsidVa => $"InvalidateVa({AsidName}, {At} +{Format.Bytes(Size)})",
            TlbScope.VaAll => $"InvalidateVaAll({At} +{Format.Bytes(Size)})",
            TlbScope.Vmid => $"InvalidateVmid({VmidName})",
            _ => $"InvalidateIpa({VmidName}, {At} +{Format.Bytes(Size)})",
        };

        private string AsidName => AsidSlot == OutOfRange ? "asid 2^bits" : $"asid of d{AsidSlot}";

        private string VmidName => AsidSlot == OutOfRange ? "vmid 2^bits" : "vmid of s2";
    }

    /// <summary>Maps pool pages in the stage-2 domain, IPA = PA (a hypervisor giving the guest's table memory back).</summary>
    internal sealed record PoolMap(PoolTarget Target, SmmuProt Prot) : Op
    {
        public override string ToString() => $"PoolMap({Target}, {Format.Flags(Prot)})";
    }

    /// <summary>Unmaps pool pages in the stage-2 domain: stage-1 walks through them fault at stage 2 with S1PTW.</summary>
    internal sealed record PoolUnmap(PoolTarget Target) : Op
    {
        public override string ToString() => $"PoolUnmap({Target})";
    }

    /// <summary>Compares the tables page by page (<c>iova_to_phys</c>) and the pool's accounting with the reference.</summary>
    internal sealed record Audit : Op
    {
        public override string ToString() => "Audit()";
    }

    private static string StreamName(int stream) => stream == 0 ? "" : "@ipa";
}

/// <summary>Sizes and flags as a reader wants them in a printed sequence.</summary>
internal static class Format
{
    /// <summary>Flags joined with '|' (the enum's own ", " would read as further arguments).</summary>
    public static string Flags<T>(T flags) where T : struct, Enum => flags.ToString().Replace(", ", "|", StringComparison.Ordinal);

    public static string Bytes(ulong bytes)
    {
        if (bytes == 0)
            return "0";
        var parts = new List<string>();
        foreach (var (shift, unit) in new[] { (30, "G"), (20, "M"), (10, "K") })
        {
            ulong count = bytes >> shift;
            if (count == 0)
                continue;
            parts.Add(count.ToString(CultureInfo.InvariantCulture) + unit);
            bytes -= count << shift;
        }
        if (bytes != 0)
            parts.Add(bytes.ToString(CultureInfo.InvariantCulture));
        return string.Join('+', parts);
    }
}
