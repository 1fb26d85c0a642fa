using Smmu.Core;

namespace Smmu.Core.Tests;

/// <summary>Shared set-up: instances, the seed's base + dynamic domains, assertions on result codes.</summary>
internal static class TestSmmu
{
    public const uint Sid = 0;
    public const ulong Iova = 0x4000_0000;
    public const ulong Pa = 0x1_0000_0000;
    public const SmmuProt ReadWrite = SmmuProt.Read | SmmuProt.Write;

    /// <summary>An instance with the default config changed by <paramref name="change"/>; <paramref name="width"/> forces the TLB kernel (any width runs on any CPU).</summary>
    public static SmmuInstance Create(Func<SmmuConfig, SmmuConfig>? change = null, SimdWidth? width = null)
    {
        var config = SmmuConfig.Default;
        if (change != null)
            config = change(config);
        Assert.Equal(SmmuError.Ok, SmmuInstance.Create(config, width, out SmmuInstance? smmu));
        return smmu!;
    }

    public static DomainHandle Alloc(this SmmuInstance smmu)
    {
        Ok(smmu.DomainAlloc(out DomainHandle d));
        return d;
    }

    /// <summary>Allocates a base domain and attaches it to <paramref name="stream"/>.</summary>
    public static DomainHandle AttachBase(this SmmuInstance smmu, uint stream = Sid)
    {
        DomainHandle d = smmu.Alloc();
        Ok(smmu.AttachDevice(d, stream));
        return d;
    }

    /// <summary>Allocates a dynamic domain on the base's context bank and attaches it (the seed's order).</summary>
    public static DomainHandle AttachDynamic(this SmmuInstance smmu, DomainHandle baseDomain, uint stream = Sid)
    {
        DomainHandle d = smmu.Alloc();
        Ok(smmu.GetContextBank(baseDomain, out uint cb));
        Ok(smmu.SetDynamic(d, true));
        Ok(smmu.SetContextBank(d, cb));
        Ok(smmu.AttachDevice(d, stream));
        return d;
    }

    public static ulong TranslateOk(this SmmuInstance smmu, ulong iova, SmmuAccess access = SmmuAccess.Read, uint stream = Sid)
    {
        Ok(smmu.Translate(stream, iova, access, out ulong pa));
        return pa;
    }

    public static uint AsidOf(this SmmuInstance smmu, DomainHandle d)
    {
        Ok(smmu.GetAsid(d, out uint asid));
        return asid;
    }

    public static void Ok(int rc) => Assert.True(rc == SmmuError.Ok, $"expected Ok, got {rc} ({SmmuError.Describe(rc)})");

    public static void Ok(long rc) => Assert.True(rc >= 0, $"expected >= 0, got {rc} ({SmmuError.Describe((int)rc)})");

    public static void Fails(int expected, int rc) =>
        Assert.True(rc == expected, $"expected {expected} ({SmmuError.Describe(expected)}), got {rc} ({SmmuError.Describe(rc)})");
}
