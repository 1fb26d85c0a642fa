using System.Runtime.CompilerServices;
using Smmu.Core.Memory;
using Smmu.Core.PageTables;

namespace Smmu.Core.Translation;

/// <summary>
/// The hardware table walk (VMSAv8-64 stage 1, 4 KiB granule): reads descriptors from simulated
/// physical memory by address, from the root a context bank's TTBR0 names, and reports the leaf or
/// the fault in the architecture's order: translation, address size, access flag. Permissions are
/// checked by the caller against the leaf's rights, so TLB hits and walks share one check.
/// </summary>
internal static class Walker
{
    /// <summary>
    /// Walks <paramref name="iova"/>; on a fault, <paramref name="level"/> is where the walk stopped. For an
    /// address-size or access-flag fault, <paramref name="leaf"/> still describes the leaf that faulted.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FaultType Walk(in WalkContext context, ulong iova, out WalkLeaf leaf, out int level)
    {
        PagePool pool = context.Pool;
        ulong outputLimit = context.OutputLimit;
        leaf = default;
        if (iova >= context.InputLimit)
        {
            level = 0;   // AArch64 reports an input address out of range as a level 0 translation fault
            return FaultType.Translation;
        }
        // A local level, not the out parameter: it is on the loop's critical path.
        int current = context.StartLevel;
        FaultType fault = FaultType.None;
        for (ulong table = context.Root; ; current++)
        {
            int index = (int)(iova >> Geometry.LevelShift(current)) & (Geometry.EntriesPerTable - 1);
            ulong descriptorPa = table + (ulong)index * Geometry.DescriptorSize;
            if (!pool.Contains(descriptorPa))
            {
                fault = FaultType.External;
                break;
            }
            ulong pte = pool.Word(descriptorPa);
            if (Pte.IsTable(pte, current))
            {
                table = Pte.TableAddress(pte);
                if (table < outputLimit)
                    continue;
                fault = FaultType.AddressSize;
                break;
            }
            if (!Pte.IsLeaf(pte, current))
            {
                fault = FaultType.Translation;   // invalid, or reserved: a block at level 0, or 0b01 at level 3
                break;
            }
            // The leaf is reported with the two faults that follow, for software walks (iova_to_phys).
            leaf = new WalkLeaf(Pte.OutputAddress(pte, current), current, Pte.Rights(pte));
            if ((pte & Pte.AddressMask) >= outputLimit)
                fault = FaultType.AddressSize;
            else if ((pte & Pte.AccessFlag) == 0)
                fault = FaultType.AccessFlag;
            break;
        }
        level = current;
        return fault;
    }
}
