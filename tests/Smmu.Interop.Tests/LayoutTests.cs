using System.Runtime.InteropServices;
using Smmu.Core;

namespace Smmu.Interop.Tests;

/// <summary>
/// The managed structs that cross the C ABI have exactly the layout smmu.h declares; the C side asserts
/// the same numbers with _Static_assert in tests/native/layout.c.
/// </summary>
public class LayoutTests
{
    [Theory]
    [InlineData(typeof(SmmuConfig), 56)]
    [InlineData(typeof(SmmuFault), 48)]
    [InlineData(typeof(SmmuStats), 88)]
    [InlineData(typeof(ContextBankState), 56)]
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
    public void ContextBankOffsetsMatchTheHeader(string field, int offset) => Assert.Equal(offset, (int)Marshal.OffsetOf<ContextBankState>(field));

    [Fact]
    public void CurrentSizesAreTheMarshalledSizes()
    {
        Assert.Equal(56u, SmmuConfig.CurrentSize);
        Assert.Equal(48u, SmmuFault.CurrentSize);
        Assert.Equal(88u, SmmuStats.CurrentSize);
        Assert.Equal(56u, ContextBankState.CurrentSize);
    }
}
