using System.Runtime.InteropServices;

namespace Smmu.Core.Memory;

/// <summary>
/// A fixed-size block of zeroed native memory holding <typeparamref name="T"/>, aligned to
/// <see cref="Alignment"/> bytes, freed by <see cref="Dispose"/> or, if forgotten, the finalizer.
/// One of the few places with unsafe code: the page pool and the TLB columns live here.
/// </summary>
internal sealed unsafe class NativeBuffer<T> : IDisposable where T : unmanaged
{
    private byte* _block;

    /// <summary>Alignment of <see cref="Pointer"/>.</summary>
    public nuint Alignment { get; }

    /// <summary>First element; aligned to <see cref="Alignment"/>. Null after <see cref="Dispose"/>.</summary>
    public T* Pointer { get; private set; }

    /// <summary>Number of elements.</summary>
    public nuint Length { get; }

    /// <summary>
    /// Allocates with calloc so that large blocks come zero-filled from the OS lazily, page by page
    /// (a 64 MiB pool costs nothing until used), then aligns inside the block.
    /// </summary>
    /// <exception cref="OutOfMemoryException">The host has no memory for the block.</exception>
    public NativeBuffer(nuint length, nuint alignment = 64)
    {
        if (length == 0 || alignment == 0 || (alignment & (alignment - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(length));
        Length = length;
        Alignment = alignment;
        nuint bytes = checked(length * (nuint)sizeof(T) + alignment);
        _block = (byte*)NativeMemory.AllocZeroed(bytes);
        Pointer = (T*)(((nuint)_block + alignment - 1) & ~(alignment - 1));
        GC.AddMemoryPressure((long)bytes);
    }

    /// <summary>The elements as a span (only for buffers shorter than 2^31 elements).</summary>
    public Span<T> AsSpan() => new(Pointer, checked((int)Length));

    /// <summary>Frees the memory; later use of <see cref="Pointer"/> is a bug.</summary>
    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    ~NativeBuffer() => Free();

    private void Free()
    {
        if (_block == null)
            return;
        NativeMemory.Free(_block);
        GC.RemoveMemoryPressure((long)(Length * (nuint)sizeof(T) + Alignment));
        _block = null;
        Pointer = null;
    }
}
