namespace Smmu.Core;

/// <summary>Domain attributes (<c>SMMU_ATTR_*</c>), after the Qualcomm driver's DOMAIN_ATTR_*.</summary>
public enum DomainAttribute : uint
{
    /// <summary>int32, 0 or 1: a dynamic domain. Set before attach.</summary>
    Dynamic = 1,
    /// <summary>uint32: read from an attached domain; set on a dynamic domain before its attach.</summary>
    ContextBank = 2,
    /// <summary>uint32, read-only, valid once attached.</summary>
    Asid = 3,
    /// <summary>uint64, read-only, valid once attached: table address in [47:0], ASID in [63:48].</summary>
    Ttbr0 = 4,
    /// <summary>uint32, free for the client; the context bank's CONTEXTIDR while the domain is active. Set before attach.</summary>
    ProcId = 5,
    /// <summary>uint32: 4096 (default), 16384 or 65536. Set before the first map and attach.</summary>
    Granule = 6,
    /// <summary>int32, 0 or 1, on a stage-1 base domain before its first map and attach: its tables are the bank's TTBR1 half.</summary>
    SplitTtbr1 = 7,
    /// <summary>uint64, read-only, once attached: the bank's TTBR1 image (table PA | ASID), 0 when the bank is not split.</summary>
    Ttbr1 = 8,
    /// <summary>uint32: 1 (default) or 2. Set before the first map and attach.</summary>
    Stage = 9,
    /// <summary>uint32 domain handle of a stage-2 domain (0: none), on a stage-1 domain before attach: its bank translates IOVA → IPA → PA.</summary>
    NestParent = 10,
    /// <summary>uint32, read-only: the VMID of a stage-2 domain in use, or of the bank a nested domain is attached on.</summary>
    Vmid = 11,
    /// <summary>uint64, read-only: the VTTBR image (stage-2 table PA | VMID &lt;&lt; 48), once in use.</summary>
    Vttbr = 12,
}
