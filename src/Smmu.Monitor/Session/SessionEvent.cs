namespace Smmu.Monitor.Session;

/// <summary>What a <see cref="SmmuSession"/> delivers, in the order the process sent it.</summary>
public abstract record SessionEvent;

/// <summary>A collection interval of the <c>Smmu</c> meter ended.</summary>
public sealed record IntervalCollected(MetricsInterval Interval) : SessionEvent;

/// <summary>A fault was raised.</summary>
public sealed record FaultRaised(FaultEvent Fault) : SessionEvent;

/// <summary>The process reported a problem with the session.</summary>
/// <param name="Message">What went wrong.</param>
/// <param name="Fatal">True when the session cannot deliver what was asked (e.g. another tool already collects the process's metrics).</param>
public sealed record SessionError(string Message, bool Fatal) : SessionEvent;
