namespace Smmu.Core;

/// <summary>What a fault handler returns.</summary>
public static class FaultVerdict
{
    /// <summary>Terminate the transaction: translate returns <see cref="SmmuError.Fault"/>.</summary>
    public const int Terminate = 0;
    /// <summary>
    /// The handler fixed the tables (e.g. mapped the page): retry the translation once, as a stalled
    /// transaction resumed with RESUME.RETRY. If the retry faults too, that fault is recorded and
    /// reported to the handler like any other, and the transaction terminates whatever it returns.
    /// </summary>
    public const int Retry = 1;
}
