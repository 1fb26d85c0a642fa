namespace Smmu.Core.Translation;

/// <summary>
/// The leaf a walk found, as the TLB caches it: the output address (aligned to the leaf's size), the
/// size (2^<see cref="Shift"/> bytes), the level (for a permission fault's FSYNR0.PLVL), what it grants,
/// and whether it matches every ASID (a global stage-1 leaf, nG = 0).
/// </summary>
internal readonly record struct WalkLeaf(ulong OutputBase, int Level, int Shift, AccessRights Rights, bool Global);
