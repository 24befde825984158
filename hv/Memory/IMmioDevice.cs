namespace Drk.Hv.Memory;

/// <summary>
/// A device that answers physical memory accesses in a range of guest physical addresses
/// (memory-mapped I/O). The MMU never caches host pointers to such pages.
/// </summary>
/// <remarks>
/// Accesses arrive with the offset from the range's start and a size of 1, 2, 4 or 8 bytes that
/// never crosses a 4 KiB page. A device decides what partial or unaligned accesses mean; it
/// must not throw on any guest-chosen offset, size or value.
/// </remarks>
public interface IMmioDevice
{
    /// <summary>Reads <paramref name="size"/> bytes at <paramref name="offset"/> (little-endian, zero-extended).</summary>
    ulong Read(ulong offset, int size);

    /// <summary>Writes the low <paramref name="size"/> bytes of <paramref name="value"/> at <paramref name="offset"/>.</summary>
    void Write(ulong offset, int size, ulong value);
}
