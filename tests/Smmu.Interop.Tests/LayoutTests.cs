using System.Runtime.InteropServices;
using Smmu.Core;
using Smmu.Core.Translation;

namespace Smmu.Interop.Tests;

/// <summary>
/// The managed structs that cross the C ABI have exactly the layout smmu.h declares; the C side asserts
/// the same numbers with _Static_assert in tests/native/layout.c.
/// </summary>
public class LayoutTests
{
    [Theory]
    [InlineData(typeof(SmmuConfig), 64)]
    [InlineData(typeof(SmmuFault), 64)]
    [InlineData(typeof(SmmuStats), 136)]
    [InlineData(typeof(ContextBankState), 96)]
    [InlineData(typeof(SmmuGather), 40)]
    [InlineData(typeof(SmmuStaleReport), 80)]
    public void StructSizesMatchTheHeader(Type type, int size) => Assert.Equal(size, Marshal.SizeOf(type));

    [Theory]
    [InlineData(nameof(SmmuConfig.Size), 0)]
    [InlineData(nameof(SmmuConfig.NumContextBanks), 4)]
    [InlineData(nameof(SmmuConfig.NumStreamIds), 8)]
    [InlineData(nameof(SmmuConfig.AsidBits), 12)]
    [InlineData(nameof(SmmuConfig.Ias), 16)]
    [InlineData(nameof(SmmuConfig.Oas), 20)]
    [InlineData(nameof(SmmuConfig.TlbEntries), 24)]
    [InlineData(nameof(SmmuConfig.TlbWays), 28)]
    [InlineData(nameof(SmmuConfig.Flags), 32)]
    [InlineData(nameof(SmmuConfig.PtPoolBase), 40)]
    [InlineData(nameof(SmmuConfig.PtPoolBytes), 48)]
    [InlineData(nameof(SmmuConfig.VmidBits), 56)]
    [InlineData(nameof(SmmuConfig.FlushQueueSize), 60)]
    public void ConfigOffsetsMatchTheHeader(string field, int offset) => Assert.Equal(offset, (int)Marshal.OffsetOf<SmmuConfig>(field));

    [Theory]
    [InlineData(nameof(SmmuFault.Size), 0)]
    [InlineData(nameof(SmmuFault.Type), 4)]
    [InlineData(nameof(SmmuFault.Level), 8)]
    [InlineData(nameof(SmmuFault.StreamId), 12)]
    [InlineData(nameof(SmmuFault.ContextBank), 16)]
    [InlineData(nameof(SmmuFault.Asid), 20)]
    [InlineData(nameof(SmmuFault.Access), 24)]
    [InlineData(nameof(SmmuFault.ActiveDomain), 28)]
    [InlineData(nameof(SmmuFault.Iova), 32)]
    [InlineData(nameof(SmmuFault.Fsr), 40)]
    [InlineData(nameof(SmmuFault.Fsynr), 44)]
    [InlineData(nameof(SmmuFault.Stage), 48)]
    [InlineData(nameof(SmmuFault.S1ptw), 52)]
    [InlineData(nameof(SmmuFault.Ipa), 56)]
    public void FaultOffsetsMatchTheHeader(string field, int offset) => Assert.Equal(offset, (int)Marshal.OffsetOf<SmmuFault>(field));

    [Theory]
    [InlineData(nameof(SmmuStats.Size), 0)]
    [InlineData(nameof(SmmuStats.Reserved), 4)]
    [InlineData(nameof(SmmuStats.Translations), 8)]
    [InlineData(nameof(SmmuStats.TlbHits), 16)]
    [InlineData(nameof(SmmuStats.TlbMisses), 24)]
    [InlineData(nameof(SmmuStats.Walks), 32)]
    [InlineData(nameof(SmmuStats.Faults), 40)]
    [InlineData(nameof(SmmuStats.TlbInvalidations), 48)]
    [InlineData(nameof(SmmuStats.TlbEntriesInvalidated), 56)]
    [InlineData(nameof(SmmuStats.Switches), 64)]
    [InlineData(nameof(SmmuStats.PtPagesInUse), 72)]
    [InlineData(nameof(SmmuStats.PtPagesFree), 80)]
    [InlineData(nameof(SmmuStats.Stage2Walks), 88)]
    [InlineData(nameof(SmmuStats.DescriptorReads), 96)]
    [InlineData(nameof(SmmuStats.VmidInvalidations), 104)]
    [InlineData(nameof(SmmuStats.StaleTranslations), 112)]
    [InlineData(nameof(SmmuStats.MissedSyncs), 120)]
    [InlineData(nameof(SmmuStats.NeedlessInvalidations), 128)]
    public void StatsOffsetsMatchTheHeader(string field, int offset) => Assert.Equal(offset, (int)Marshal.OffsetOf<SmmuStats>(field));

    [Theory]
    [InlineData(nameof(ContextBankState.Size), 0)]
    [InlineData(nameof(ContextBankState.InUse), 4)]
    [InlineData(nameof(ContextBankState.BaseDomain), 8)]
    [InlineData(nameof(ContextBankState.ActiveDomain), 12)]
    [InlineData(nameof(ContextBankState.Asid), 16)]
    [InlineData(nameof(ContextBankState.ContextIdr), 20)]
    [InlineData(nameof(ContextBankState.StreamCount), 24)]
    [InlineData(nameof(ContextBankState.DynamicCount), 28)]
    [InlineData(nameof(ContextBankState.Ttbr0), 32)]
    [InlineData(nameof(ContextBankState.Fsr), 40)]
    [InlineData(nameof(ContextBankState.Fsynr0), 44)]
    [InlineData(nameof(ContextBankState.Far), 48)]
    [InlineData(nameof(ContextBankState.Ttbr1), 56)]
    [InlineData(nameof(ContextBankState.Vttbr), 64)]
    [InlineData(nameof(ContextBankState.Ipafar), 72)]
    [InlineData(nameof(ContextBankState.Vmid), 80)]
    [InlineData(nameof(ContextBankState.Flags), 84)]
    [InlineData(nameof(ContextBankState.Granule), 88)]
    [InlineData(nameof(ContextBankState.Reserved), 92)]
    public void ContextBankOffsetsMatchTheHeader(string field, int offset) => Assert.Equal(offset, (int)Marshal.OffsetOf<ContextBankState>(field));

    [Theory]
    [InlineData(nameof(SmmuGather.Size), 0)]
    [InlineData("DomainValue", 4)]
    [InlineData("StartIova", 8)]
    [InlineData("EndIova", 16)]
    [InlineData("PageSizeBytes", 24)]
    [InlineData("Ticket", 32)]
    public void GatherOffsetsMatchTheHeader(string field, int offset) => Assert.Equal(offset, (int)Marshal.OffsetOf<SmmuGather>(field));

    [Theory]
    [InlineData(nameof(SmmuStaleReport.Size), 0)]
    [InlineData(nameof(SmmuStaleReport.Kind), 4)]
    [InlineData(nameof(SmmuStaleReport.StreamId), 8)]
    [InlineData(nameof(SmmuStaleReport.ContextBank), 12)]
    [InlineData(nameof(SmmuStaleReport.Asid), 16)]
    [InlineData(nameof(SmmuStaleReport.Vmid), 20)]
    [InlineData(nameof(SmmuStaleReport.Domain), 24)]
    [InlineData(nameof(SmmuStaleReport.Access), 28)]
    [InlineData(nameof(SmmuStaleReport.Iova), 32)]
    [InlineData(nameof(SmmuStaleReport.IovaLast), 40)]
    [InlineData(nameof(SmmuStaleReport.StalePa), 48)]
    [InlineData(nameof(SmmuStaleReport.CurrentPa), 56)]
    [InlineData(nameof(SmmuStaleReport.StaleGranted), 64)]
    [InlineData(nameof(SmmuStaleReport.CurrentFault), 68)]
    [InlineData(nameof(SmmuStaleReport.TablePages), 72)]
    [InlineData(nameof(SmmuStaleReport.Reserved), 76)]
    public void StaleReportOffsetsMatchTheHeader(string field, int offset) => Assert.Equal(offset, (int)Marshal.OffsetOf<SmmuStaleReport>(field));

    [Theory]
    [InlineData(nameof(FastPathView.Handle), 0)]
    [InlineData(nameof(FastPathView.NumStreamIds), 4)]
    [InlineData(nameof(FastPathView.SizeClasses), 8)]
    [InlineData(nameof(FastPathView.NoAsidClasses), 12)]
    [InlineData(nameof(FastPathView.SetMask), 16)]
    [InlineData(nameof(FastPathView.WaysLog2), 24)]
    [InlineData(nameof(FastPathView.GroupMask), 28)]
    [InlineData(nameof(FastPathView.Streams), 32)]
    [InlineData(nameof(FastPathView.Tags), 40)]
    [InlineData(nameof(FastPathView.Asids), 48)]
    [InlineData(nameof(FastPathView.Outputs), 56)]
    [InlineData(nameof(FastPathView.Info), 64)]
    [InlineData(nameof(FastPathView.Hits), 72)]
    [InlineData(nameof(FastPathView.OneProbeClass), 80)]
    public void FastViewOffsetsMatchTheHeader(string field, int offset) => Assert.Equal(offset, (int)Marshal.OffsetOf<FastPathView>(field));

    [Fact]
    public void FastViewSizesMatchTheHeader()
    {
        Assert.Equal(FastPathView.Size, Marshal.SizeOf<FastPathView>());
        Assert.Equal(128, Marshal.SizeOf<FastPathView>());
        Assert.Equal(24, Marshal.SizeOf<FastPathStream>());
        Assert.Equal(0, (int)Marshal.OffsetOf<FastPathStream>(nameof(FastPathStream.Bank)));
        Assert.Equal(4, (int)Marshal.OffsetOf<FastPathStream>(nameof(FastPathStream.Asid)));
        Assert.Equal(8, (int)Marshal.OffsetOf<FastPathStream>(nameof(FastPathStream.Salt)));
        Assert.Equal(16, (int)Marshal.OffsetOf<FastPathStream>(nameof(FastPathStream.TagBase)));
    }

    [Fact]
    public void CurrentSizesAreTheMarshalledSizes()
    {
        Assert.Equal(64u, SmmuConfig.CurrentSize);
        Assert.Equal(64u, SmmuFault.CurrentSize);
        Assert.Equal(136u, SmmuStats.CurrentSize);
        Assert.Equal(96u, ContextBankState.CurrentSize);
        Assert.Equal(40u, SmmuGather.CurrentSize);
        Assert.Equal(80u, SmmuStaleReport.CurrentSize);
        // ABI 1.0's sizes, which the library still accepts: each struct grew only at its end.
        Assert.Equal(56u, SmmuConfig.SizeV1_0);
        Assert.Equal(48u, SmmuFault.SizeV1_0);
        Assert.Equal(88u, SmmuStats.SizeV1_0);
        Assert.Equal(56u, ContextBankState.SizeV1_0);
    }
}
