namespace Smmu.Core.Translation;

/// <summary>Inspection and control for tests and benchmarks; not used by the model itself.</summary>
internal sealed unsafe partial class Tlb
{
    /// <summary>One way's columns, as stored.</summary>
    internal readonly record struct EntryImage(ulong Tag, ushort Asid, ulong Output, byte Rights);

    /// <summary>Switches the kernel width (any width runs on any CPU, through software fallback if needed).</summary>
    internal void ForceWidth(SimdWidth width) => Width = width;

    /// <summary>The columns of <paramref name="entry"/>.</summary>
    internal EntryImage EntryAt(int entry) => new(_tags[entry], _asids[entry], _outputs[entry], _rights[entry]);

    /// <summary>Entries with a non-zero ASID.</summary>
    internal int ValidEntries()
    {
        int valid = 0;
        for (int i = 0; i < Entries; i++)
            valid += _asids[i] != 0 ? 1 : 0;
        return valid;
    }

    /// <summary>The set an entry of <paramref name="sizeClass"/> for (<paramref name="iova"/>, <paramref name="asid"/>) goes to.</summary>
    internal int SetOf(ulong iova, ushort asid, int sizeClass) => SetOf(iova >> Geometry.SizeClassShift(sizeClass), asid);

    /// <summary>Size classes filled since the last full invalidation.</summary>
    internal uint SizeClassesPresent => _sizeClasses;
}
