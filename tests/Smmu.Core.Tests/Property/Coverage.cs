namespace Smmu.Core.Tests.Property;

/// <summary>
/// How often each kind of operation met each kind of outcome. A run that agrees with the reference proves
/// little unless it went everywhere it is meant to: the test prints these counts and asserts that every
/// needed one happened.
/// </summary>
internal sealed class Coverage
{
    private readonly Dictionary<string, long> _counts = new(StringComparer.Ordinal);

    public void Count(string what) => _counts[what] = _counts.GetValueOrDefault(what) + 1;

    public long this[string what] => _counts.GetValueOrDefault(what);

    public IEnumerable<string> Keys => _counts.Keys;

    public void Add(Coverage other)
    {
        foreach (var (what, count) in other._counts)
            _counts[what] = _counts.GetValueOrDefault(what) + count;
    }

    public IEnumerable<(string What, long Count)> Sorted() =>
        _counts.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, kv.Value));
}
