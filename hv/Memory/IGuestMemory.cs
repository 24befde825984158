using Drk.Hv.Cpu;

namespace Drk.Hv.Memory;

/// <summary>
/// Guest virtual memory as one vCPU sees it: reads, writes and instruction fetches by linear
/// address, translated (by the MMU, or identity in tests) and permission-checked.
/// </summary>
/// <remarks>
/// Accesses report failure as a <see cref="GuestFault"/> instead of throwing, so the caller
/// can deliver a precise guest exception. An access of <c>size</c> bytes (1, 2, 4 or 8) may
/// cross a page boundary; it then either completes on both pages or faults with no byte
/// written. Values are little-endian, zero-extended to 64 bits.
/// </remarks>
public interface IGuestMemory
{
    /// <summary>Reads <paramref name="size"/> bytes at linear address <paramref name="address"/>.</summary>
    /// <returns>false with <paramref name="fault"/> filled when the access faults.</returns>
    bool Read(ulong address, int size, out ulong value, out GuestFault fault);

    /// <summary>Writes the low <paramref name="size"/> bytes of <paramref name="value"/>.</summary>
    /// <returns>false with <paramref name="fault"/> filled when the access faults; nothing is written then.</returns>
    bool Write(ulong address, int size, ulong value, out GuestFault fault);

    /// <summary>
    /// Fetches instruction bytes for decoding. Copies up to <c>buffer.Length</c> bytes and stops
    /// early at the first byte that cannot be fetched.
    /// </summary>
    /// <returns>The number of bytes copied; when fewer than asked, <paramref name="fault"/> says why the next byte failed.</returns>
    int Fetch(ulong address, Span<byte> buffer, out GuestFault fault);
}
