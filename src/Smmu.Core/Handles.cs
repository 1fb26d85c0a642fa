namespace Smmu.Core;

/// <summary>What a handle names; part of the handle, so one kind is never taken for another.</summary>
public enum HandleKind : uint
{
    /// <summary>An SMMU instance (<c>smmu_t</c>).</summary>
    Instance = 1,
    /// <summary>A domain (<c>smmu_domain_t</c>).</summary>
    Domain = 2,
}

/// <summary>
/// Generation-tagged handles (in the manner of Ryujinx's KHandleTable):
/// <code>[31:30] kind | [29:20] generation, 1..1023 | [19:0] slot index</code>
/// A slot's generation advances each time the slot is freed, so a freed handle stops matching
/// (until the generation wraps, after 1023 reuses of the same slot; slots are reused oldest first).
/// No valid handle is 0.
/// </summary>
public static class HandleCodec
{
    private const int IndexBits = 20;
    private const int GenerationBits = 10;
    private const int KindShift = IndexBits + GenerationBits;

    /// <summary>Slots per table.</summary>
    public const int MaxSlots = 1 << IndexBits;

    /// <summary>Largest generation; the next one after it is 1.</summary>
    public const int MaxGeneration = (1 << GenerationBits) - 1;

    /// <summary>Packs a handle.</summary>
    public static uint Encode(HandleKind kind, int index, int generation) =>
        (uint)kind << KindShift | (uint)generation << IndexBits | (uint)index;

    /// <summary>Splits a handle; false when its kind is not <paramref name="kind"/> or its generation is 0.</summary>
    public static bool TryDecode(uint handle, HandleKind kind, out int index, out int generation)
    {
        index = (int)(handle & (MaxSlots - 1));
        generation = (int)(handle >> IndexBits) & MaxGeneration;
        return handle >> KindShift == (uint)kind && generation != 0;
    }

    /// <summary>The generation after <paramref name="generation"/>, skipping 0.</summary>
    public static int NextGeneration(int generation) => generation == MaxGeneration ? 1 : generation + 1;
}

/// <summary>A domain of one <see cref="SmmuInstance"/> (<c>smmu_domain_t</c>). <c>default</c> is never valid.</summary>
/// <param name="Value">The handle as C sees it.</param>
public readonly record struct DomainHandle(uint Value)
{
    /// <summary>Never a valid domain.</summary>
    public static DomainHandle None => default;

    /// <inheritdoc/>
    public override string ToString() => $"domain 0x{Value:x8}";
}
