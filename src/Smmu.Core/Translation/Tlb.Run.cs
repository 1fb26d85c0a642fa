using System.Numerics;
using System.Runtime.CompilerServices;
using Smmu.Core.PageTables;

namespace Smmu.Core.Translation;

/// <summary>The batch hot loop: translations that hit, back to back, with the TLB's state in registers.</summary>
internal sealed unsafe partial class Tlb
{
    /// <summary>
    /// Translates iovas[start..count) into pas while each one hits with the rights it needs; returns the
    /// index of the first that does not (a miss or a permission fault), or count. <paramref name="entry"/>
    /// is what the lookup of that one found: -1 for a miss, else the entry without the rights.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int TranslateRun<TKernel>(ref ulong iovas, ref ulong pas, int start, int count, ushort asid, AccessRights need,
                                     out int entry)
        where TKernel : struct, ITlbKernel
    {
        // Copies in locals: stores through `pas` would otherwise make the JIT reload every field.
        ulong* tags = _tags;
        ushort* asids = _asids;
        ulong* outputs = _outputs;
        byte* rights = _rights;
        ulong setMask = _setMask;
        int waysLog2 = _waysLog2;
        uint groupMask = _groupMask;
        nint ways = Ways;
        uint classes = _sizeClasses;
        ulong salt = SetSalt(asid);
        uint required = (uint)need;
        int found = -1;   // a local, not the out parameter: the loop keeps it in a register

        int i = start;
        for (; i < count; i++)
        {
            ulong iova = Unsafe.Add(ref iovas, i);
            found = -1;
            ulong offsetMask = Geometry.PageOffsetMask;
            if ((classes & 1) != 0)
                found = Probe<TKernel>(tags, asids, iova, asid, salt, 0, setMask, waysLog2, groupMask, ways);
            if (found < 0 && classes > 1)
            {
                for (int sizeClass = 1; sizeClass < Geometry.SizeClassCount && found < 0; sizeClass++)
                {
                    if ((classes & (1u << sizeClass)) == 0)
                        continue;
                    found = Probe<TKernel>(tags, asids, iova, asid, salt, sizeClass, setMask, waysLog2, groupMask, ways);
                    offsetMask = (1UL << Geometry.SizeClassShift(sizeClass)) - 1;
                }
            }
            if (found < 0 || (required & ~(uint)rights[found]) != 0)
                break;
            Unsafe.Add(ref pas, i) = outputs[found] | (iova & offsetMask);
        }
        entry = found;
        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Probe<TKernel>(ulong* tags, ushort* asids, ulong iova, ushort asid, ulong salt, int sizeClass,
                                      ulong setMask, int waysLog2, uint groupMask, nint ways)
        where TKernel : struct, ITlbKernel
    {
        int shift = Geometry.SizeClassShift(sizeClass);
        ulong tag = (iova >> shift << shift) | (uint)sizeClass;
        nint set = (nint)(((iova >> shift) ^ salt) & setMask) << waysLog2;
        nint way = 0;
        do
        {
            uint match = TKernel.MatchGroup(tags + set + way, asids + set + way, tag, asid) & groupMask;
            if (match != 0)
                return (int)(set + way) + BitOperations.TrailingZeroCount(match);
            way += TlbKernel.GroupWays;
        }
        while (way < ways);
        return -1;
    }
}
