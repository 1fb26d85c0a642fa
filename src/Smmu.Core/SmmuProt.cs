namespace Smmu.Core;

/// <summary>Mapping protections (<c>SMMU_PROT_*</c>), as Linux's <c>IOMMU_*</c> flags.</summary>
[Flags]
public enum SmmuProt : uint
{
    /// <summary>No access: refused by map.</summary>
    None = 0,
    /// <summary>Readable.</summary>
    Read = 0x1,
    /// <summary>Writable (a write-only mapping is read/write: VMSAv8 has no write-only encoding).</summary>
    Write = 0x2,
    /// <summary>Cacheable, inner-shareable (MAIR index 1).</summary>
    Cache = 0x4,
    /// <summary>Not executable: sets UXN and PXN, as io-pgtable-arm does.</summary>
    NoExec = 0x8,
    /// <summary>Device memory (MAIR index 2); takes precedence over <see cref="Cache"/>.</summary>
    Mmio = 0x10,
    /// <summary>Privileged only: AP[1] stays clear, so unprivileged accesses fault.</summary>
    Priv = 0x20,
    /// <summary>
    /// Global (nG = 0): the TLB entry matches every ASID, so it survives process switches. Stage 1 only
    /// (stage 2 has no nG).
    /// </summary>
    Global = 0x40,
    /// <summary>Every defined bit.</summary>
    All = Read | Write | Cache | NoExec | Mmio | Priv | Global,
}
