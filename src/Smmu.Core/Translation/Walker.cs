using System.Runtime.CompilerServices;
using Smmu.Core.Memory;
using Smmu.Core.PageTables;

namespace Smmu.Core.Translation;

/// <summary>The leaf a successful walk found.</summary>
internal readonly record struct WalkLeaf(ulong OutputBase, int Level, AccessRights Rights);

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
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static FaultType Walk(PagePool pool, ulong root, int startLevel, ulong inputLimit, ulong outputLimit,
                                 ulong iova, out WalkLeaf leaf, out int level)
    {
        leaf = default;
        if (iova >= inputLimit)
        {
            level = 0;   // AArch64 reports an input address out of range as a level 0 translation fault
            return FaultType.Translation;
        }
        ulong table = root;
        for (level = startLevel; ; level++)
        {
            int index = (int)(iova >> Geometry.LevelShift(level)) & (Geometry.EntriesPerTable - 1);
            ulong descriptorPa = table + (ulong)index * Geometry.DescriptorSize;
            if (!pool.Contains(descriptorPa))
                return FaultType.External;
            ulong pte = pool.Word(descriptorPa);
            if (!Pte.IsValid(pte))
                return FaultType.Translation;
            if (Pte.IsTable(pte, level))
            {
                table = Pte.TableAddress(pte);
                if (table >= outputLimit)
                    return FaultType.AddressSize;
                continue;
            }
            if (!Pte.IsLeaf(pte, level))
                return FaultType.Translation;   // reserved encoding: a block at level 0, or 0b01 at level 3
            // The leaf is reported with the two faults that follow, for software walks (iova_to_phys).
            leaf = new WalkLeaf(Pte.OutputAddress(pte, level), level, Pte.Rights(pte));
            if ((pte & Pte.AddressMask) >= outputLimit)
                return FaultType.AddressSize;
            if ((pte & Pte.AccessFlag) == 0)
                return FaultType.AccessFlag;
            return FaultType.None;
        }
    }
}
