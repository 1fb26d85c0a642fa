using Smmu.Bench.Fixtures;
using Smmu.Core;

namespace Smmu.Bench.Seed;

/// <summary>
/// A reference walk over <see cref="SmmuInstance.PhysRead64"/>: the tables and descriptors a walk of one
/// address reads, level by level, so a scenario can show and check the model's descriptors bit by bit and
/// find the page that holds a given table. VMSAv8-64 long descriptors, 4 KiB granule, 48-bit input
/// (four levels from 0); a TTBR1 address is passed as it is (only its low 48 bits index the tables).
/// </summary>
internal sealed class DescriptorWalk
{
    /// <summary>4 KiB granule: 12 offset bits, 9 index bits per level, levels 0-3.</summary>
    public const int PageShift = 12;
    public const int LevelBits = PageShift - 3;
    public const int Levels = 4;

    /// <summary>Output / next-table address: bits [47:12].</summary>
    public const ulong AddressMask = 0x0000_FFFF_FFFF_F000;
    /// <summary>Bits [1:0]: 0b11 table (levels 0-2) or page (level 3), 0b01 block.</summary>
    public const ulong TypeMask = 0b11;
    /// <summary>nG (bit 11): the entry is tagged with an ASID; clear for a global mapping.</summary>
    public const ulong NotGlobal = 1UL << 11;
    /// <summary>AF (bit 10).</summary>
    public const ulong AccessFlag = 1UL << 10;

    private readonly ulong[] _tables = new ulong[Levels];
    private readonly ulong[] _descriptorPas = new ulong[Levels];
    private readonly ulong[] _descriptors = new ulong[Levels];

    /// <summary>Walks <paramref name="iova"/> from the table at <paramref name="root"/>.</summary>
    public DescriptorWalk(SmmuInstance smmu, ulong root, ulong iova)
    {
        ulong table = root;
        for (int level = 0; level < Levels; level++)
        {
            int shift = PageShift + LevelBits * (Levels - 1 - level);
            _tables[level] = table;
            _descriptorPas[level] = table + ((iova >> shift) & ((1UL << LevelBits) - 1)) * sizeof(ulong);
            Check.Ok(smmu.PhysRead64(_descriptorPas[level], out ulong descriptor), $"read the level-{level} descriptor");
            _descriptors[level] = descriptor;
            LeafLevel = level;
            if (level < Levels - 1 && (descriptor & TypeMask) == 0b11)
            {
                table = descriptor & AddressMask;
                continue;
            }
            IsLeaf = (descriptor & TypeMask) == (level == Levels - 1 ? 0b11UL : 0b01UL);
            return;
        }
    }

    /// <summary>The walk ended at a page or block.</summary>
    public bool IsLeaf { get; }

    /// <summary>The level of the last descriptor read (the leaf's, when <see cref="IsLeaf"/>).</summary>
    public int LeafLevel { get; }

    /// <summary>The leaf (or the last descriptor read).</summary>
    public ulong Leaf => _descriptors[LeafLevel];

    /// <summary>The physical address of the table read at <paramref name="level"/>.</summary>
    public ulong TableAt(int level) => _tables[level];

    /// <summary>The physical address of the descriptor read at <paramref name="level"/>.</summary>
    public ulong DescriptorPaAt(int level) => _descriptorPas[level];
}
