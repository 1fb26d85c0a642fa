using Smmu.Bench.Fixtures;
using Smmu.Core;

namespace Smmu.Bench.Seed;

/// <summary>What a fault record must say (the transaction's stream, IOVA and access come with the probe).</summary>
/// <param name="Type">The fault kind.</param>
/// <param name="Level">The level where the walk of the faulting stage stopped (the leaf's, for a permission fault).</param>
/// <param name="Stage">1, or 2.</param>
/// <param name="S1ptw">Stage 2 faulted while fetching a stage-1 table descriptor.</param>
/// <param name="Ipa">The IPA stage 2 was translating; 0 for a stage-1 fault.</param>
/// <param name="Asid">The ASID the bank held.</param>
/// <param name="ActiveDomain">The domain whose tables the bank pointed at.</param>
internal readonly record struct ExpectedFault(FaultType Type, uint Level, uint Stage, bool S1ptw, ulong Ipa, uint Asid, DomainHandle ActiveDomain);

/// <summary>
/// Provokes faults on one stream with no handler installed (so the bank keeps the record) and checks each
/// record and the bank's registers field by field, FSR and FSYNR0 bit by bit, then clears it. The checks
/// throw through <see cref="Check"/> at the first difference.
/// </summary>
/// <param name="smmu">The instance.</param>
/// <param name="streamId">The device's stream.</param>
/// <param name="contextBank">The bank the stream is routed to.</param>
internal readonly struct FaultProbe(SmmuInstance smmu, uint streamId, uint contextBank)
{
    /// <summary>Translates <paramref name="iova"/>, expects a fault like <paramref name="expected"/>; returns the record.</summary>
    public SmmuFault Expect(ulong iova, SmmuAccess access, in ExpectedFault expected, string what)
    {
        int rc = smmu.Translate(streamId, iova, access, out _);
        Check.That(rc == SmmuError.Fault, $"{what}: translate 0x{iova:x} -> {Check.Describe(rc)}, expected a fault");
        Check.Ok(smmu.GetFault(contextBank, out SmmuFault f), $"{what}: read the fault record");
        Check.That(f.Type == expected.Type, $"{what}: type {f.Type}, expected {expected.Type}");
        Check.That(f.Level == expected.Level, $"{what}: level {f.Level}, expected {expected.Level}");
        Check.That(f.Stage == expected.Stage, $"{what}: stage {f.Stage}, expected {expected.Stage}");
        Check.That(f.S1ptw == (expected.S1ptw ? 1u : 0u), $"{what}: s1ptw {f.S1ptw}, expected {expected.S1ptw}");
        Check.That(f.Ipa == expected.Ipa, $"{what}: IPA 0x{f.Ipa:x}, expected 0x{expected.Ipa:x}");
        Check.That(f.Iova == iova && f.Access == access && f.StreamId == streamId && f.ContextBank == contextBank,
                   $"{what}: IOVA 0x{f.Iova:x} access {f.Access} stream {f.StreamId} bank {f.ContextBank}");
        Check.That(f.Asid == expected.Asid && f.ActiveDomain == expected.ActiveDomain,
                   $"{what}: ASID {f.Asid} active {f.ActiveDomain}, expected {expected.Asid} {expected.ActiveDomain}");

        uint fsr = FsrBit(expected.Type);
        Check.That(f.Fsr == fsr, $"{what}: FSR 0x{f.Fsr:x}, expected 0x{fsr:x} (the type's bit alone, no MULTI)");
        // FSYNR0: [10] PTWF | [6] IND | [5] PNU | [4] WNR | [1:0] PLVL
        Check.That((f.Fsynr & FaultRegisters.Fsynr0LevelMask) == (expected.Level & FaultRegisters.Fsynr0LevelMask), $"{what}: FSYNR0.PLVL");
        Check.That((f.Fsynr & FaultRegisters.Fsynr0PageTableWalk) != 0 == expected.S1ptw, $"{what}: FSYNR0.PTWF");
        Check.That((f.Fsynr & FaultRegisters.Fsynr0Write) != 0 == ((access & SmmuAccess.Write) != 0), $"{what}: FSYNR0.WNR");
        Check.That((f.Fsynr & FaultRegisters.Fsynr0Privileged) != 0 == ((access & SmmuAccess.Priv) != 0), $"{what}: FSYNR0.PNU");
        Check.That((f.Fsynr & FaultRegisters.Fsynr0Instruction) != 0 == ((access & SmmuAccess.Exec) != 0), $"{what}: FSYNR0.IND");
        const uint Known = FaultRegisters.Fsynr0LevelMask | FaultRegisters.Fsynr0PageTableWalk | FaultRegisters.Fsynr0Write
                           | FaultRegisters.Fsynr0Privileged | FaultRegisters.Fsynr0Instruction;
        Check.That((f.Fsynr & ~Known) == 0, $"{what}: FSYNR0 0x{f.Fsynr:x} has no other bit");

        Check.Ok(smmu.GetContextBankState(contextBank, out ContextBankState cb), $"{what}: read the bank");
        Check.That(cb.Fsr == f.Fsr && cb.Fsynr0 == f.Fsynr && cb.Far == iova && cb.Ipafar == expected.Ipa,
                   $"{what}: the bank's FSR/FSYNR0/FAR/IPAFAR hold the same fault");
        Check.Ok(smmu.ClearFault(contextBank), $"{what}: clear the fault");
        Check.That(smmu.GetFault(contextBank, out _) == SmmuError.NoEntry, $"{what}: the record is gone after clear_fault");
        return f;
    }

    /// <summary>"translation fault, stage 2, S1PTW, level 3, IPA 0x…, FSR 0x2, FSYNR0 0x403".</summary>
    public static string Describe(in SmmuFault f) =>
        $"{f.Type.ToString().ToLowerInvariant()} fault, stage {f.Stage}{(f.S1ptw != 0 ? ", S1PTW" : "")}, level {f.Level}" +
        $"{(f.Stage == 2 ? $", IPA 0x{f.Ipa:x}" : "")}, FSR 0x{f.Fsr:x}, FSYNR0 0x{f.Fsynr:x}";

    private static uint FsrBit(FaultType type) => type switch
    {
        FaultType.Translation => FaultRegisters.FsrTranslation,
        FaultType.Permission => FaultRegisters.FsrPermission,
        FaultType.AccessFlag => FaultRegisters.FsrAccessFlag,
        FaultType.AddressSize => FaultRegisters.FsrAddressSize,
        FaultType.External => FaultRegisters.FsrExternal,
        _ => 0,
    };
}
