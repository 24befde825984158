using Drk.Hv.Memory;

namespace Drk.Dispatcher.Execution;

/// <summary>
/// The guest kernel's AP trampoline header (docs/guest-abi.md section 5.2): at offset 8 of the
/// SIPI page, the magic "DRKSMPv1", then the 64-bit entry (virtual), CR3 and the initial RSP. With
/// it the run loop starts an AP directly in long mode instead of running real-mode code.
/// </summary>
public readonly record struct TrampolineHeader(ulong Entry64, ulong Cr3, ulong StackTop)
{
    /// <summary>"DRKSMPv1" as a little-endian u64.</summary>
    public const ulong Magic = 0x3176504d534b5244;

    /// <summary>Offset of the header in the start page.</summary>
    public const ulong Offset = 0x08;

    /// <summary>Reads the header from the start page at physical <paramref name="page"/>; false when the page does not hold one.</summary>
    public static bool TryRead(PhysicalMemory memory, ulong page, out TrampolineHeader header)
    {
        header = default;
        ulong at = page + Offset;
        if (!memory.IsRam(at, 32) || memory.Read(at, 8) != Magic) return false;
        header = new TrampolineHeader(memory.Read(at + 8, 8), memory.Read(at + 16, 8), memory.Read(at + 24, 8));
        return true;
    }
}
