namespace Smmu.Core.Tests;

/// <summary>
/// Tests that must not share the process with other running tests: allocation counting (another thread's
/// garbage collections void its measurement window, and the property tests collect often).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RunsAlone
{
    public const string Name = "runs alone";
}
