using Smmu.Core;

namespace Smmu.Bench.Fixtures;

/// <summary>
/// An SMMU with one device (<see cref="Layout.StreamId"/>) and its base domain attached, plus helpers to
/// add dynamic domains on the base's context bank and map each domain's copy of the IOVA window.
/// </summary>
internal sealed class Testbed : IDisposable
{
    private const SmmuProt ReadWrite = SmmuProt.Read | SmmuProt.Write;

    /// <param name="config">The instance's geometry.</param>
    /// <param name="width">A TLB kernel width to force whatever the CPU offers (null: the widest accelerated).</param>
    public Testbed(in SmmuConfig config, SimdWidth? width = null)
    {
        Check.Ok(SmmuInstance.Create(config, width, out SmmuInstance? smmu), "create");
        Smmu = smmu!;
        Check.Ok(Smmu.DomainAlloc(out DomainHandle baseDomain), "alloc base domain");
        Check.Ok(Smmu.AttachDevice(baseDomain, Layout.StreamId), "attach base domain");
        Check.Ok(Smmu.GetContextBank(baseDomain, out uint contextBank), "read CONTEXT_BANK");
        Base = baseDomain;
        ContextBank = contextBank;
    }

    public SmmuInstance Smmu { get; }

    /// <summary>The base domain: domain index 0 in <see cref="Layout.ExpectedPa"/>.</summary>
    public DomainHandle Base { get; }

    /// <summary>The context bank the base domain claimed.</summary>
    public uint ContextBank { get; }

    /// <summary>Allocates a dynamic domain on the base's context bank and attaches it (not switched to).</summary>
    public DomainHandle AddDynamic()
    {
        Check.Ok(Smmu.DomainAlloc(out DomainHandle domain), "alloc dynamic domain");
        Check.Ok(Smmu.SetDynamic(domain, true), "set DYNAMIC");
        Check.Ok(Smmu.SetContextBank(domain, ContextBank), "set CONTEXT_BANK");
        Check.Ok(Smmu.AttachDevice(domain, Layout.StreamId), "attach dynamic domain");
        return domain;
    }

    /// <summary>Maps <paramref name="pages"/> 4 KiB pages at <see cref="Layout.IovaBase"/> to domain <paramref name="index"/>'s data.</summary>
    public void MapPages(DomainHandle domain, int index, int pages) =>
        Check.Ok(Smmu.Map(domain, Layout.IovaBase, Layout.PageDataPa(index), (ulong)pages * Layout.PageSize, ReadWrite), "map pages");

    /// <summary>The ASID the domain was given at attach.</summary>
    public ushort AsidOf(DomainHandle domain)
    {
        Check.Ok(Smmu.GetAsid(domain, out uint asid), "read ASID");
        return (ushort)asid;
    }

    /// <summary>Translates <paramref name="iovas"/> (reads) through the device, checking only the status.</summary>
    public void Touch(ReadOnlySpan<ulong> iovas)
    {
        var pas = new ulong[iovas.Length];
        Check.Ok(Smmu.TranslateBatch(Layout.StreamId, iovas, pas, SmmuAccess.Read, out _), "warm-up translate");
    }

    /// <summary>Translates each of <paramref name="iovas"/> with one <see cref="SmmuInstance.Translate"/> call; returns the sum of the PAs.</summary>
    public ulong TranslateEach(ReadOnlySpan<ulong> iovas)
    {
        ulong sum = 0;
        foreach (ulong iova in iovas)
        {
            Smmu.Translate(Layout.StreamId, iova, SmmuAccess.Read, out ulong pa);
            sum += pa;
        }
        return sum;
    }

    /// <summary>Translates <paramref name="iovas"/> in one batch into <paramref name="pas"/>; returns the last PA.</summary>
    public ulong TranslateAll(ReadOnlySpan<ulong> iovas, Span<ulong> pas)
    {
        Smmu.TranslateBatch(Layout.StreamId, iovas, pas, SmmuAccess.Read, out _);
        return pas[iovas.Length - 1];
    }

    /// <summary>TLB misses since the instance was created (or its stats reset).</summary>
    public ulong Misses => Smmu.Stats.TlbMisses;

    public void Dispose() => Smmu.Dispose();
}
