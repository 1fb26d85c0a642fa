using System.Reflection;
using static Smmu.Core.Tests.TestSmmu;

namespace Smmu.Core.Tests;

/// <summary>
/// A disposed instance refuses every public member with <see cref="ObjectDisposedException"/>: its native
/// memory (table pool, TLB columns) is gone, and touching it used to kill the process with an access
/// violation. The list of calls is checked against the public surface, so a new member without a case
/// here fails <see cref="EveryPublicMemberHasACase"/>.
/// </summary>
public class DisposedInstanceTests
{
    private static readonly (string Member, Action<SmmuInstance, DomainHandle> Call)[] Calls =
    [
        ("get_Config", (s, d) => _ = s.Config),
        ("get_Id", (s, d) => _ = s.Id),
        ("get_TlbWidth", (s, d) => _ = s.TlbWidth),
        ("get_InFaultHandler", (s, d) => _ = s.InFaultHandler),
        ("get_InHandler", (s, d) => _ = s.InHandler),
        ("MapPages", (s, d) => s.MapPages(d, Iova, Pa, 0x1000, 1, SmmuProt.Read, out _)),
        ("UnmapPages", (s, d) =>   // both overloads share the check; this one also takes the gather
        {
            var gather = new SmmuGather();
            s.UnmapPages(d, Iova, 0x1000, 1, ref gather);
        }),
        ("IotlbSync", (s, d) =>
        {
            var gather = new SmmuGather();
            s.IotlbSync(d, ref gather);
        }),
        ("FlushQueue", (s, d) => s.FlushQueue()),
        ("get_QueuedSyncs", (s, d) => _ = s.QueuedSyncs),
        ("SetSanitizerHandler", (s, d) => s.SetSanitizerHandler(null)),
        ("add_SanitizerReport", (s, d) => s.SanitizerReport += (_, in _) => { }),
        ("remove_SanitizerReport", (s, d) => s.SanitizerReport -= (_, in _) => { }),
        ("get_Stats", (s, d) => _ = s.Stats),
        ("GetStats", (s, d) => s.GetStats(out _)),
        ("ResetStats", (s, d) => s.ResetStats()),
        ("DomainAlloc", (s, d) => s.DomainAlloc(out _)),
        ("DomainFree", (s, d) => s.DomainFree(d)),
        ("get_DomainCount", (s, d) => _ = s.DomainCount),
        ("AttachDevice", (s, d) => s.AttachDevice(d, Sid)),
        ("DetachDevice", (s, d) => s.DetachDevice(d, Sid)),
        ("SetAttribute", (s, d) => s.SetAttribute(d, DomainAttribute.ProcId, new byte[4])),
        ("GetAttribute", (s, d) => s.GetAttribute(d, DomainAttribute.ProcId, new byte[4])),
        ("SetDynamic", (s, d) => s.SetDynamic(d, true)),
        ("SetContextBank", (s, d) => s.SetContextBank(d, 0)),
        ("SetProcId", (s, d) => s.SetProcId(d, 1)),
        ("GetDynamic", (s, d) => s.GetDynamic(d, out _)),
        ("GetContextBank", (s, d) => s.GetContextBank(d, out _)),
        ("GetAsid", (s, d) => s.GetAsid(d, out _)),
        ("GetProcId", (s, d) => s.GetProcId(d, out _)),
        ("GetTtbr0", (s, d) => s.GetTtbr0(d, out _)),
        ("SetGranule", (s, d) => s.SetGranule(d, 0x4000)),
        ("SetSplitTtbr1", (s, d) => s.SetSplitTtbr1(d, true)),
        ("SetStage", (s, d) => s.SetStage(d, 2)),
        ("SetNestParent", (s, d) => s.SetNestParent(d, d)),
        ("GetTtbr1", (s, d) => s.GetTtbr1(d, out _)),
        ("GetVmid", (s, d) => s.GetVmid(d, out _)),
        ("GetVttbr", (s, d) => s.GetVttbr(d, out _)),
        ("Map", (s, d) => s.Map(d, Iova, Pa, 0x1000, ReadWrite)),
        ("Unmap", (s, d) => s.Unmap(d, Iova, 0x1000)),
        ("IovaToPhys", (s, d) => s.IovaToPhys(d, Iova, out _)),
        ("PhysRead64", (s, d) => s.PhysRead64(0x4000_0000, out _)),
        ("PhysWrite64", (s, d) => s.PhysWrite64(0x4000_0000, 0)),
        ("SwitchDomain", (s, d) => s.SwitchDomain(d)),
        ("Translate", (s, d) => s.Translate(Sid, Iova, SmmuAccess.Read, out _)),
        ("TranslateBatch", (s, d) => s.TranslateBatch(Sid, new ulong[] { Iova }, new ulong[1], SmmuAccess.Read, out _)),
        ("TlbInvalidateAll", (s, d) => s.TlbInvalidateAll()),
        ("TlbInvalidateAsid", (s, d) => s.TlbInvalidateAsid(1)),
        ("TlbInvalidateVa", (s, d) => s.TlbInvalidateVa(1, Iova, 0x1000)),
        ("TlbInvalidateVaAll", (s, d) => s.TlbInvalidateVaAll(Iova, 0x1000)),
        ("TlbInvalidateVmid", (s, d) => s.TlbInvalidateVmid(1)),
        ("TlbInvalidateIpa", (s, d) => s.TlbInvalidateIpa(1, Iova, 0x1000)),
        ("SetFaultHandler", (s, d) => s.SetFaultHandler(d, null)),
        ("GetFault", (s, d) => s.GetFault(0, out _)),
        ("ClearFault", (s, d) => s.ClearFault(0)),
        ("GetContextBankState", (s, d) => s.GetContextBankState(0, out _)),
    ];

    public static TheoryData<string> Members
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var (member, _) in Calls)
                data.Add(member);
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Members))]
    public void EveryPublicMemberThrowsObjectDisposedAfterDispose(string member)
    {
        SmmuInstance smmu = Create();
        DomainHandle d = smmu.AttachBase();
        Ok(smmu.Map(d, Iova, Pa, 0x1000, ReadWrite));
        Ok(smmu.Translate(Sid, Iova, SmmuAccess.Read, out _));   // the TLB holds an entry
        smmu.Dispose();

        var call = Calls.Single(c => c.Member == member).Call;
        Assert.Throws<ObjectDisposedException>(() => call(smmu, d));
    }

    [Fact]
    public void DisposeTwiceIsHarmless()
    {
        SmmuInstance smmu = Create();
        smmu.Dispose();
        smmu.Dispose();
        Assert.Throws<ObjectDisposedException>(() => smmu.Translate(Sid, Iova, SmmuAccess.Read, out _));
    }

    [Fact]
    public void EveryPublicMemberHasACase()
    {
        var surface = typeof(SmmuInstance)
            .GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
            .Select(m => m.Name)
            .Where(name => name is not "Dispose")
            .ToHashSet();
        var covered = Calls.Select(c => c.Member).ToHashSet();
        Assert.Empty(surface.Except(covered));
    }
}
