using System.Runtime.InteropServices;
namespace Smmu.Core.Translation;

/// <summary>
/// The process-wide table of <see cref="FastPathView"/>s, one per instance slot (the low bits of an
/// <c>smmu_t</c>), which <c>smmu_fast_views()</c> hands to C. It is allocated once and never freed: a C caller
/// caches its address for the life of the process, and a view of a destroyed instance must stay readable
/// (its <see cref="FastPathView.Handle"/> becomes <see cref="FastPathView.NoInstance"/>, which sends C to the library: EBADF). A slot's view is
/// written only by the thread that uses its instance (the ABI's threading rule).
/// </summary>
internal static unsafe class FastPathViews
{
    private static readonly FastPathView* s_table = Allocate();

    /// <summary>The table's first view.</summary>
    public static FastPathView* Table => s_table;

    /// <summary>The view of instance slot <paramref name="slot"/>.</summary>
    public static FastPathView* Of(int slot) => s_table + slot;

    private static FastPathView* Allocate()
    {
        nuint bytes = (nuint)(FastPathView.Size << HandleCodec.InstanceSlotBits);
        var table = (FastPathView*)NativeMemory.AlignedAlloc(bytes, 64);
        NativeMemory.Clear(table, bytes);
        for (int slot = 0; slot < 1 << HandleCodec.InstanceSlotBits; slot++)
            table[slot].Handle = FastPathView.NoInstance(slot);
        return table;
    }
}
