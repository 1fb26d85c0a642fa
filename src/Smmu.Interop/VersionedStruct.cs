using System.Runtime.CompilerServices;

namespace Smmu.Interop;

/// <summary>
/// Structs that grow at their end (smmu_config, smmu_stats, smmu_fault, smmu_cb_state) cross the ABI as
/// many bytes as the caller's <c>size</c> field says — this version's size or an older one — so a program
/// built against an older header is neither read nor written past its struct.
/// </summary>
internal static unsafe class VersionedStruct
{
    /// <summary>True when <paramref name="size"/> is one of the struct's known sizes.</summary>
    public static bool IsKnownSize(uint size, uint currentSize, uint oldSize) => size == currentSize || size == oldSize;

    /// <summary>Writes the first <paramref name="size"/> bytes of <paramref name="value"/> (its own size field set to <paramref name="size"/>) to <paramref name="destination"/>.</summary>
    public static void Write<T>(T* destination, T value, uint size) where T : unmanaged
    {
        *(uint*)&value = size;
        Unsafe.CopyBlockUnaligned(destination, &value, size);
    }

    /// <summary>Reads the first <paramref name="size"/> bytes of <paramref name="source"/> over <paramref name="defaults"/>.</summary>
    public static T Read<T>(T* source, uint size, T defaults) where T : unmanaged
    {
        T value = defaults;
        Unsafe.CopyBlockUnaligned(&value, source, size);
        return value;
    }
}
