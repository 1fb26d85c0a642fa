namespace Smmu.Core.Memory;

/// <summary>
/// What the <see cref="PagePool"/> keeps per 4 KiB frame, in one record so that taking or freeing a table touches one
/// line: the level of the table covering the frame (or −1: free), and for the frame that heads a table its block order
/// and its count of valid descriptors (an emptied table can go back).
/// </summary>
internal struct PoolFrame
{
    public int ValidCount;
    public sbyte Level;
    public byte BlockOrder;
}
