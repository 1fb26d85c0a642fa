using System.Diagnostics.CodeAnalysis;
using Smmu.Core;

namespace Smmu.Bench.Fixtures;

/// <summary>
/// Setup-time assertions. A benchmark or demo whose setup silently failed would measure the wrong
/// thing, so every model call made while building a fixture goes through here and throws.
/// </summary>
internal static class Check
{
    /// <summary>Throws unless <paramref name="rc"/> is <see cref="SmmuError.Ok"/>.</summary>
    public static void Ok(int rc, string what)
    {
        if (rc != SmmuError.Ok)
            Fail($"{what}: {Describe(rc)}");
    }

    /// <summary>Throws unless <paramref name="condition"/> holds.</summary>
    public static void That([DoesNotReturnIf(false)] bool condition, string what)
    {
        if (!condition)
            Fail(what);
    }

    /// <summary>"-16 (resource busy)".</summary>
    public static string Describe(int rc) => $"{rc} ({SmmuError.Describe(rc)})";

    [DoesNotReturn]
    public static void Fail(string message) => throw new InvalidOperationException(message);
}
