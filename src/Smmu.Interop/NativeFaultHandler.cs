using Smmu.Core;

namespace Smmu.Interop;

/// <summary>A C fault handler and its cookie, adapted to <see cref="SmmuFaultHandler"/>.</summary>
internal sealed unsafe class NativeFaultHandler
{
    private readonly uint _smmu;
    private readonly delegate* unmanaged<uint, uint, SmmuFault*, void*, int> _function;
    private readonly void* _cookie;

    public NativeFaultHandler(uint smmu, delegate* unmanaged<uint, uint, SmmuFault*, void*, int> function, void* cookie)
    {
        _smmu = smmu;
        _function = function;
        _cookie = cookie;
    }

    /// <summary>Calls the C function with a pointer to the record, valid for the call.</summary>
    public int Invoke(SmmuInstance smmu, DomainHandle baseDomain, in SmmuFault fault)
    {
        SmmuFault copy = fault;
        return _function(_smmu, baseDomain.Value, &copy, _cookie);
    }
}
