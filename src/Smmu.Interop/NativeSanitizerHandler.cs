using Smmu.Core;

namespace Smmu.Interop;

/// <summary>A C sanitizer handler and its cookie, adapted to <see cref="SmmuSanitizerHandler"/>.</summary>
internal sealed unsafe class NativeSanitizerHandler
{
    private readonly uint _smmu;
    private readonly delegate* unmanaged<uint, SmmuStaleReport*, void*, void> _function;
    private readonly void* _cookie;

    public NativeSanitizerHandler(uint smmu, delegate* unmanaged<uint, SmmuStaleReport*, void*, void> function, void* cookie)
    {
        _smmu = smmu;
        _function = function;
        _cookie = cookie;
    }

    /// <summary>Calls the C function with a pointer to the report, valid for the call.</summary>
    public void Invoke(SmmuInstance smmu, in SmmuStaleReport report)
    {
        SmmuStaleReport copy = report;
        _function(_smmu, &copy, _cookie);
    }
}
