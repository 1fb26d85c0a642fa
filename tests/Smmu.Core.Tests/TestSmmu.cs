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
        var config = DefaultConfig;
        if (change != null)
            config = change(config);
        Assert.Equal(SmmuError.Ok, SmmuInstance.Create(config, width, out SmmuInstance? smmu));
        return smmu!;
    }

    /// <summary>
    /// <see cref="SmmuConfig.Default"/>, with the table pool moved when <c>SMMU_TEST_POOL_BASE</c> says so:
    /// <c>0</c> (the first table page at PA 0), <c>random</c> (a random 64 KiB-aligned base below 0x3000_0000,
    /// printed once), or an address. The suite runs once more with each, so no test depends on where the
    /// pool lies and no part of the model takes a table address for a sentinel.
    /// </summary>
    public static SmmuConfig DefaultConfig
    {
        get
        {
            var config = SmmuConfig.Default;
            if (PoolBaseOverride is ulong poolBase)
                config.PtPoolBase = poolBase;
            return config;
        }
    }

    private static readonly ulong? PoolBaseOverride = ReadPoolBaseOverride();

    private static ulong? ReadPoolBaseOverride()
    {
        string? value = Environment.GetEnvironmentVariable("SMMU_TEST_POOL_BASE");
        if (string.IsNullOrEmpty(value))
            return null;
        if (value == "random")
        {
            int seed = Environment.TickCount;
            // 64 KiB aligned, below 0x3000_0000: the default 64 MiB pool stays clear of the IPA windows the stage-2
            // and nesting tests map beside the identity-mapped pool (1 GiB, 2 GiB).
            ulong poolBase = (ulong)new Random(seed).NextInt64(0, 0x3000) << 16;
            Console.WriteLine($"SMMU_TEST_POOL_BASE=random: pool at 0x{poolBase:x} (replay with SMMU_TEST_POOL_BASE=0x{poolBase:x})");
            return poolBase;
        }
        return value.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? Convert.ToUInt64(value[2..], 16)
            : ulong.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
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
