namespace Smmu.Core.PageTables;

/// <summary>
/// The shape of one translation table tree: the level a walk starts at and the input and output
/// address limits (2^ias, 2^oas). Made in one place, <see cref="Stage1"/>, and carried by everything
/// that builds or walks tables (the mapper, the walk context), so nothing derives it twice.
/// </summary>
/// <param name="StartLevel">The level of the root table.</param>
/// <param name="InputLimit">2^ias: the first input address the tables cannot translate.</param>
/// <param name="OutputLimit">2^oas: the first output (and table) address beyond the output size.</param>
internal readonly record struct TableFormat(int StartLevel, ulong InputLimit, ulong OutputLimit)
{
    /// <summary>VMSAv8-64 stage 1, 4 KiB granule, for an input size of <paramref name="ias"/> and output size of <paramref name="oas"/> bits.</summary>
    public static TableFormat Stage1(int ias, int oas) => new(Geometry.StartLevel(ias), 1UL << ias, 1UL << oas);
}
