namespace Smmu.Core;

/// <summary>smmu.h "Context banks": a snapshot of one bank's registers.</summary>
public sealed partial class SmmuInstance
{
    /// <summary>A snapshot of a context bank's registers (<c>smmu_get_context_bank</c>). Invalid when the bank does not exist.</summary>
    public int GetContextBankState(uint contextBank, out ContextBankState state)
    {
        ThrowIfDisposed();
        state = default;
        if (contextBank >= _config.NumContextBanks)
            return SmmuError.Invalid;
        state = _translator.Banks[contextBank].Snapshot();
        return SmmuError.Ok;
    }
}
