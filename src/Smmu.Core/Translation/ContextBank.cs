namespace Smmu.Core.Translation;

/// <summary>
/// One context bank's registers and ownership: which base domain claimed it, what TTBR0 / ASID /
/// CONTEXTIDR hold (the active domain's), the routed streams and dynamic domains, and the fault
/// registers. A switch changes only what <see cref="PointAt"/> writes; only the base domain's last
/// detach resets the bank.
/// </summary>
internal struct ContextBank
{
    public bool InUse;
    /// <summary>Domain slot of the base domain that claimed the bank.</summary>
    public int BaseIndex;
    /// <summary>Domain slot of the domain TTBR0 points at.</summary>
    public int ActiveIndex;
    public DomainHandle BaseDomain;
    public DomainHandle ActiveDomain;
    /// <summary>TTBR0's table address: the active domain's root.</summary>
    public ulong Ttbr0;
    public ushort Asid;
    public uint ContextIdr;
    /// <summary>Stream IDs routed to the bank.</summary>
    public int RoutedStreams;
    /// <summary>Dynamic domains attached on the bank.</summary>
    public int DynamicDomains;
    public uint Fsr;
    public uint Fsynr0;
    public ulong Far;
    /// <summary>The fault FSR/FAR/FSYNR0 describe, while FSR holds one.</summary>
    public SmmuFault FaultRecord;

    /// <summary>Points TTBR0/ASID/CONTEXTIDR at a domain (attach of a base domain, or a switch).</summary>
    public void PointAt(int domainIndex, DomainHandle domain, ulong root, ushort asid, uint procId)
    {
        ActiveIndex = domainIndex;
        ActiveDomain = domain;
        Ttbr0 = root;
        Asid = asid;
        ContextIdr = procId;
    }

    /// <summary>Clears FSR/FAR/FSYNR0 and the record (FSR is write-1-to-clear on hardware).</summary>
    public void ClearFault()
    {
        Fsr = 0;
        Far = 0;
        Fsynr0 = 0;
        FaultRecord = default;
    }

    /// <summary>The register snapshot of <c>smmu_get_context_bank</c>.</summary>
    public readonly ContextBankState Snapshot() => new()
    {
        Size = ContextBankState.CurrentSize,
        InUse = InUse ? 1u : 0u,
        BaseDomain = BaseDomain,
        ActiveDomain = ActiveDomain,
        Asid = Asid,
        ContextIdr = ContextIdr,
        StreamCount = (uint)RoutedStreams,
        DynamicCount = (uint)DynamicDomains,
        Ttbr0 = InUse ? ContextBankState.Ttbr0Image(Ttbr0, Asid) : 0,
        Fsr = Fsr,
        Fsynr0 = Fsynr0,
        Far = Far,
    };
}
