namespace Smmu.Core;

/// <summary>What a transaction does (<c>SMMU_ACCESS_*</c>).</summary>
[Flags]
public enum SmmuAccess : uint
{
    /// <summary>Not a valid access on its own.</summary>
    None = 0,
    /// <summary>Data read.</summary>
    Read = 0x1,
    /// <summary>Data write.</summary>
    Write = 0x2,
    /// <summary>Instruction fetch.</summary>
    Exec = 0x4,
    /// <summary>Privileged transaction (otherwise unprivileged).</summary>
    Priv = 0x8,
    /// <summary>Every defined bit.</summary>
    All = Read | Write | Exec | Priv,
}
