namespace Smmu.Core.Domains;

/// <summary>
/// One context bank: who owns it, what TTBR0/ASID/CONTEXTIDR it holds, and its fault registers.
/// A switch changes only <see cref="ActiveIndex"/>, <see cref="Ttbr0"/>, <see cref="Asid"/> and
/// <see cref="ContextIdr"/>; only the base domain's last detach resets the bank.
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
    public int StreamCount;
    public int DynamicCount;
    public uint Fsr;
    public uint Fsynr0;
    public ulong Far;
    /// <summary>The fault FSR/FAR/FSYNR0 describe, while FSR holds one.</summary>
    public SmmuFault FaultRecord;
}
