using Smmu.Core;

namespace Smmu.Bench.Fixtures;

/// <summary>
/// The GPU-like workload of the seed: a base domain and N dynamic domains (one per process), each
/// with its own pages behind the same IOVAs; the driver switches to the next process every K
/// translations and runs a job of K reads through <see cref="SmmuInstance.TranslateBatch"/>.
/// <para>Each job reads a K-long slice of one seeded random stream over the domain's working set;
/// successive jobs take successive slices, so a domain that returns does not replay the same IOVAs.
/// The domains in rotation can be narrowed (<c>active</c>) to sweep N on one instance.</para>
/// </summary>
internal sealed class DomainSwitchWorkload : IDisposable
{
    private const int Slices = 16;

    private readonly Testbed _testbed;
    private readonly DomainHandle[] _dynamic;
    private readonly ulong[] _pattern;
    private readonly ulong[] _pas;
    private int _cursor;
    private int _slice;

    /// <param name="config">The SMMU's geometry and switch mode.</param>
    /// <param name="dynamicDomains">N.</param>
    /// <param name="pagesPerDomain">Each domain's working set in 4 KiB pages, at the same IOVAs in every domain.</param>
    /// <param name="switchEvery">K: translations per job between two switches.</param>
    public DomainSwitchWorkload(in SmmuConfig config, int dynamicDomains, int pagesPerDomain, int switchEvery)
    {
        _testbed = new Testbed(config);
        _testbed.MapPages(_testbed.Base, 0, pagesPerDomain);
        _dynamic = new DomainHandle[dynamicDomains];
        for (int d = 0; d < _dynamic.Length; d++)
        {
            _dynamic[d] = _testbed.AddDynamic();
            _testbed.MapPages(_dynamic[d], d + 1, pagesPerDomain);
        }
        PagesPerDomain = pagesPerDomain;
        SwitchEvery = switchEvery;
        _pattern = AccessPattern.Random(switchEvery * Slices, pagesPerDomain);
        _pas = new ulong[switchEvery];
    }

    public SmmuInstance Smmu => _testbed.Smmu;
    public int DynamicDomains => _dynamic.Length;
    public int PagesPerDomain { get; }
    public int SwitchEvery { get; }

    /// <summary>
    /// Runs <paramref name="switches"/> jobs, rotating over the first <paramref name="active"/> dynamic
    /// domains. Allocation-free. Returns the last PA (so callers have a result to keep).
    /// </summary>
    public ulong Run(int switches, int active)
    {
        ulong last = 0;
        for (int s = 0; s < switches; s++)
            last = Job(active, out _, out _);
        return last;
    }

    /// <summary>As <see cref="Run"/>, checking every PA against the domain's mapping; returns the mismatches.</summary>
    public long RunVerified(int switches, int active)
    {
        long mismatches = 0;
        for (int s = 0; s < switches; s++)
        {
            Job(active, out int domain, out ReadOnlySpan<ulong> iovas);
            for (int i = 0; i < iovas.Length; i++)
                mismatches += _pas[i] == Layout.ExpectedPa(domain + 1, iovas[i]) ? 0 : 1;
        }
        return mismatches;
    }

    public void Dispose() => _testbed.Dispose();

    /// <summary>Switches to the next domain and translates one slice; says which domain and which IOVAs.</summary>
    private ulong Job(int active, out int domain, out ReadOnlySpan<ulong> iovas)
    {
        domain = _cursor < active ? _cursor : 0;
        _cursor = domain + 1 == active ? 0 : domain + 1;
        int rc = Smmu.SwitchDomain(_dynamic[domain]);
        if (rc != SmmuError.Ok)
            Check.Fail($"switch_domain: {Check.Describe(rc)}");
        iovas = _pattern.AsSpan(_slice * SwitchEvery, SwitchEvery);
        _slice = _slice + 1 == Slices ? 0 : _slice + 1;
        rc = Smmu.TranslateBatch(Layout.StreamId, iovas, _pas, SmmuAccess.Read, out int done);
        if (rc != SmmuError.Ok)
            Check.Fail($"translate batch: {Check.Describe(rc)} after {done} of {iovas.Length}");
        return _pas[^1];
    }
}
