namespace Smmu.Core.Tests.Property;

/// <summary>
/// Where the model, as it is, departs from the contract (<c>smmu.h</c>) or the architecture, found by this
/// test. The reference's truth stays the contract's answer; while a switch here is on, it also accepts the
/// model's present answer in exactly that situation, as an alternative named after the switch (the runs
/// count how often each one was taken). All three found so far are fixed, so every switch is off: the
/// reference accepts only the contract's answer. Each has a strict test: the split half in
/// AdrenoSplitScenarioTests, the nested ones in NestingTests.
/// </summary>
internal static class KnownDeviations
{
    /// <summary>
    /// smmu.h, smmu_map and smmu_unmap: an address outside a split base domain's TTBR1 half (below
    /// 2^64 − 2^ias) is ERANGE. The model returns EINVAL: <c>SmmuInstance.InputOffset</c> turns such an
    /// address into <c>ulong.MaxValue</c>, which the mapper's alignment check refuses before its range check.
    /// </summary>
    public static readonly bool SplitOutsideHalfIsInvalid = false;

    public const string SplitOutsideHalfReason = "known deviation: EINVAL, not ERANGE, outside a TTBR1 half";

    /// <summary>
    /// Nested translation, a stage-1 leaf that refuses the access and whose output IPA stage 2 cannot
    /// translate: the ARM ARM (AArch64.FullTranslate: AArch64.S1Translate checks stage-1 permissions and
    /// returns its fault before AArch64.S2Translate sees the output address) reports the stage-1 permission
    /// fault. The model walks stage 2 for the output first and reports that stage-2 fault.
    /// </summary>
    public static readonly bool Stage2OutputFaultBeforeStage1Permission = false;

    public const string Stage2OutputFaultReason = "known deviation: stage-2 output fault before the stage-1 permission fault";

    /// <summary>
    /// Nested bank: a combined global entry another domain left in the TLB lacks the rights the access
    /// needs, but the active domain's own tables grant them. The model walks again "to report the stage
    /// that denies", the walk finds no fault, and <c>KernelTranslator.TranslateSlow</c> still raises one of
    /// type None: the translation returns EFAULT with no fault record on the bank (FSR stays 0).
    /// Acceptable answers would be the walk's PA, or the permission fault of the cached entry.
    /// </summary>
    public static readonly bool NestedGlobalWithoutRightsFaultsWithoutRecord = false;

    public const string NestedGlobalReason = "known deviation: EFAULT without a record after a cached global entry lacked the rights";
}
