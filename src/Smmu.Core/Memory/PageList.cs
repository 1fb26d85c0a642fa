namespace Smmu.Core.Memory;

/// <summary>
/// Tables unlinked from a tree whose return to the pool waits for a TLB sync (Linux's gather freelist:
/// a walker may still be reading them until the invalidation completes). The links live in the pool
/// (<see cref="PagePool.Defer"/>), so keeping a list allocates nothing. The default value is empty.
/// </summary>
internal struct PageList
{
    /// <summary>First table's frame index + 1 (0: empty, so that default is the empty list).</summary>
    internal int HeadPlusOne;
    /// <summary>Last table's frame index + 1.</summary>
    internal int TailPlusOne;

    /// <summary>Tables on the list.</summary>
    public int Tables { readonly get; internal set; }

    /// <summary>4 KiB frames those tables cover.</summary>
    public int Frames { readonly get; internal set; }

    public readonly bool IsEmpty => HeadPlusOne == 0;
}
