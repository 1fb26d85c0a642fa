using System.Runtime.CompilerServices;
using Smmu.Core.PageTables;

namespace Smmu.Core.Memory;

/// <summary>
/// The <see cref="PagePool"/>'s tables addressed by physical address: a descriptor and a table's valid count, each
/// one load from a base kept in a register. The mapper's one-page paths take it once per call: through the pool, every
/// access would load the pool's fields again after each descriptor store (the JIT cannot tell that a store to table
/// memory leaves them alone). Both bases are biased by the pool's base (PA 0 maps below the memory; only pool
/// addresses are ever added), so an access is one add. Valid while the pool lives; one of the few unsafe places.
/// </summary>
internal readonly unsafe struct TableMemory
{
    private readonly byte* _hostOfPaZero;      // host address of PA 0: pool host − pool base
    private readonly PoolFrame* _frameZero;    // the record of absolute frame 0: pool frames − base frame

    public TableMemory(byte* hostOfPaZero, PoolFrame* frameZero)
    {
        _hostOfPaZero = hostOfPaZero;
        _frameZero = frameZero;
    }

    /// <summary>The descriptor at <paramref name="index"/> of the table at <paramref name="tablePa"/> (a pool table).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref ulong Descriptor(ulong tablePa, int index) =>
        ref *(ulong*)(_hostOfPaZero + tablePa + (nuint)(uint)index * Geometry.DescriptorSize);

    /// <summary>The valid descriptors of the table at <paramref name="tablePa"/> (a pool table).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref int ValidCount(ulong tablePa) => ref _frameZero[tablePa >> Geometry.FrameShift].ValidCount;
}
