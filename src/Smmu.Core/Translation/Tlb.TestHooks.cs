namespace Smmu.Core.Translation;

/// <summary>Inspection for tests and benchmarks; not used by the model itself.</summary>
internal sealed unsafe partial class Tlb
{
    /// <summary>One way's columns, as stored.</summary>
    internal readonly record struct EntryImage(ulong Tag, ushort Asid, ulong Output, byte Info);

    /// <summary>The columns of <paramref name="entry"/>.</summary>
    internal EntryImage EntryAt(int entry) => new(_tags[entry], _asids[entry], _outputs[entry], _info[entry]);

    /// <summary>Entries that are not empty.</summary>
    internal int ValidEntries()
    {
        int valid = 0;
        for (int i = 0; i < Entries; i++)
            valid += _asids[i] != TlbLayout.InvalidAsid ? 1 : 0;
        return valid;
    }

    /// <summary>The set an entry of <paramref name="sizeClass"/> for (<paramref name="input"/>, <paramref name="asid"/>) goes to.</summary>
    internal int SetOf(ulong input, ushort asid, int sizeClass) => SetOf(input >> TlbLayout.SizeClassShift(sizeClass), TlbContext.SetSalt(asid));

    /// <summary>Size classes filled since the last full invalidation.</summary>
    internal uint SizeClassesPresent => _sizeClasses;

    /// <summary>Size classes holding an entry without an ASID (global, stage-2-only) since the last full invalidation.</summary>
    internal uint NoAsidClassesPresent => _noAsidClasses;
}
