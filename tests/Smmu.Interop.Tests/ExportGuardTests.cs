using Smmu.Core;

namespace Smmu.Interop.Tests;

/// <summary>
/// Calls the exports through their unmanaged function pointers, as C does, under the JIT: proves that an
/// exception inside an export becomes an error code instead of crossing the boundary (which would kill
/// the host), and that the exports' argument checks behave as smmu.h documents.
/// </summary>
public unsafe class ExportGuardTests
{
    private static uint CreateInstance()
    {
        SmmuConfig config = SmmuConfig.Default;
        uint handle;
        Assert.Equal(SmmuError.Ok, ((delegate* unmanaged<SmmuConfig*, uint*, int>)&Exports.Create)(&config, &handle));
        return handle;
    }

    private static void Destroy(uint smmu) =>
        Assert.Equal(SmmuError.Ok, ((delegate* unmanaged<uint, int>)&Exports.Destroy)(smmu));

    [Fact]
    public void AnExceptionInsideAnExportBecomesEio()
    {
        uint smmu = CreateInstance();
        try
        {
            // A managed fault handler that throws: the exception unwinds out of SmmuInstance.Translate
            // into the export, whose catch-all must turn it into SMMU_EIO.
            SmmuInstance instance = InstanceTable.Get(smmu)!;
            Assert.NotNull(instance);
            Assert.Equal(SmmuError.Ok, instance.DomainAlloc(out DomainHandle domain));
            Assert.Equal(SmmuError.Ok, instance.AttachDevice(domain, 0));
            Assert.Equal(SmmuError.Ok, instance.SetFaultHandler(domain, (SmmuInstance _, DomainHandle _, in SmmuFault _) => throw new InvalidOperationException("boom")));

            ulong pa = 0;
            int rc = ((delegate* unmanaged<uint, uint, ulong, uint, ulong*, int>)&Exports.Translate)(smmu, 0, 0x1000, 1, &pa);

            Assert.Equal(SmmuError.Internal, rc);
            Assert.Equal(0UL, pa);
        }
        finally
        {
            Destroy(smmu);
        }
    }

    [Fact]
    public void OutOfMemoryInsideAnExportBecomesEnomem()
    {
        uint smmu = CreateInstance();
        try
        {
            SmmuInstance instance = InstanceTable.Get(smmu)!;
            Assert.NotNull(instance);
            Assert.Equal(SmmuError.Ok, instance.DomainAlloc(out DomainHandle domain));
            Assert.Equal(SmmuError.Ok, instance.AttachDevice(domain, 0));
            Assert.Equal(SmmuError.Ok, instance.SetFaultHandler(domain, (SmmuInstance _, DomainHandle _, in SmmuFault _) => throw new OutOfMemoryException()));

            ulong pa = 0;
            int rc = ((delegate* unmanaged<uint, uint, ulong, uint, ulong*, int>)&Exports.Translate)(smmu, 0, 0x1000, 1, &pa);

            Assert.Equal(SmmuError.NoMemory, rc);
        }
        finally
        {
            Destroy(smmu);
        }
    }

    [Fact]
    public void HandlesOfTheWrongKindAreBadHandles()
    {
        uint smmu = CreateInstance();
        try
        {
            uint domain;
            Assert.Equal(SmmuError.Ok, ((delegate* unmanaged<uint, uint*, int>)&Exports.DomainAlloc)(smmu, &domain));
            var free = (delegate* unmanaged<uint, uint, int>)&Exports.DomainFree;
            Assert.Equal(SmmuError.BadHandle, free(domain, domain));         // a domain handle as smmu_t
            Assert.Equal(SmmuError.BadHandle, free(smmu, smmu));             // an instance handle as a domain
            Assert.Equal(SmmuError.BadHandle, free(0, domain));
            Assert.Equal(SmmuError.Ok, free(smmu, domain));
            Assert.Equal(SmmuError.BadHandle, free(smmu, domain));           // freed: stale
        }
        finally
        {
            Destroy(smmu);
        }
        Assert.Equal(SmmuError.BadHandle, ((delegate* unmanaged<uint, int>)&Exports.Destroy)(smmu));   // destroyed: stale
    }

    [Fact]
    public void NullPointersAreInvalidEvenWithABadHandle()
    {
        var translate = (delegate* unmanaged<uint, uint, ulong, uint, ulong*, int>)&Exports.Translate;
        Assert.Equal(SmmuError.Invalid, translate(0xdeadbeef, 0, 0, 1, null));
        var create = (delegate* unmanaged<SmmuConfig*, uint*, int>)&Exports.Create;
        uint handle;
        Assert.Equal(SmmuError.Invalid, create(null, &handle));
        SmmuConfig config = SmmuConfig.Default;
        Assert.Equal(SmmuError.Invalid, create(&config, null));
    }

    [Fact]
    public void StrErrorReturnsStaticNulTerminatedStrings()
    {
        var strerror = (delegate* unmanaged<int, byte*>)&Exports.StrError;
        foreach (int code in new[] { 0, -1, -2, -5, -9, -12, -14, -16, -17, -19, -22, -28, -34, -999, 5 })
        {
            byte* text = strerror(code);
            string managed = new((sbyte*)text);
            Assert.Equal(SmmuError.Describe(code), managed);
            Assert.True(text == strerror(code), "the same static string every time");
        }
    }

    [Fact]
    public void AbiVersionAndSimdWidthAreReported()
    {
        Assert.Equal(1 << 16 | 1, ((delegate* unmanaged<int>)&Exports.AbiVersionExport)());
        Assert.Equal((int)SimdSupport.Widest, ((delegate* unmanaged<int>)&Exports.SimdWidthExport)());
    }
}
