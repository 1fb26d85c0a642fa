namespace Smmu.Core.Translation;

/// <summary>
/// What a walk reports besides the leaf: where it stopped (the level of the fault, or the leaf's), which
/// stage faulted, whether stage 2 faulted while fetching a stage-1 table descriptor (S1PTW), the IPA
/// stage 2 was translating (valid for a stage-2 fault, and for the output of a clean nested walk), and how
/// many descriptors it read.
/// </summary>
internal struct WalkInfo
{
    public int Level;
    public int Stage;
    public bool S1ptw;
    public ulong Ipa;
    public int DescriptorReads;
    /// <summary>
    /// Nested, once stage 1 reached its leaf (a clean walk, or a stage-2 fault on its output): stage 1's
    /// rights alone and its leaf level, and (clean) stage 2's leaf level, so that a denied access is
    /// reported by the stage that denies it — stage 1's permission check comes before stage 2 translates
    /// its output (ARM ARM, AArch64.FullTranslate).
    /// </summary>
    public AccessRights Stage1Rights;
    public int Stage1Level;
    public int Stage2Level;
}
