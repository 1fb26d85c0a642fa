using System.Runtime.CompilerServices;
using Smmu.Core.Memory;
using Smmu.Core.PageTables;

namespace Smmu.Core.Translation;

/// <summary>
/// Everything a walk needs besides the IOVA: the simulated memory, the root a context bank's TTBR0
/// names, and the table format (start level, input and output limits). Built per miss from the bank's
/// registers; flat fields so that the JIT keeps them in registers through the walk loop.
/// </summary>
internal readonly struct WalkContext
{
    public readonly PagePool Pool;
    public readonly ulong Root;
    public readonly int StartLevel;
    public readonly ulong InputLimit;
    public readonly ulong OutputLimit;

    public WalkContext(PagePool pool, ulong root, in TableFormat format)
    {
        Pool = pool;
        Root = root;
        StartLevel = format.StartLevel;
        InputLimit = format.InputLimit;
        OutputLimit = format.OutputLimit;
    }

    /// <summary>Walks <paramref name="iova"/> (see <see cref="Walker.Walk"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public FaultType Walk(ulong iova, out WalkLeaf leaf, out int level) => Walker.Walk(this, iova, out leaf, out level);
}
