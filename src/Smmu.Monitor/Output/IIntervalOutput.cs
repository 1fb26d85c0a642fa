using Smmu.Monitor.Session;

namespace Smmu.Monitor.Output;

/// <summary>Where <c>monitor</c> sends each interval.</summary>
internal interface IIntervalOutput
{
    /// <summary>Shows one interval.</summary>
    void Write(MetricsInterval interval);
}
