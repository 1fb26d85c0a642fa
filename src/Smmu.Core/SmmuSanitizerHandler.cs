namespace Smmu.Core;

/// <summary>
/// Receives the stale-TLB sanitizer's reports (see <see cref="SmmuInstance.SanitizerReport"/>), during the
/// call that found the problem. It may call back into the instance, but cannot dispose it; reports its own
/// calls cause are counted, not delivered.
/// </summary>
public delegate void SmmuSanitizerHandler(SmmuInstance smmu, in SmmuStaleReport report);
