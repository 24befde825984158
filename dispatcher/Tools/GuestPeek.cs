using Drk.Hv.Cpu;
using Drk.Hv.Memory;

namespace Drk.Dispatcher.Tools;

/// <summary>
/// Reads guest memory for tools without any effect the guest could see: a page walk that sets
/// no accessed or dirty bit and fills no TLB entry, and reads of RAM only (never a device).
/// </summary>
internal static class GuestPeek
{
    private const ulong PageMask = 0xFFFUL;

    /// <summary>Translates <paramref name="linear"/> through the tables at CR3 (present pages only; permissions ignored).</summary>
    public static bool TryTranslate(PhysicalMemory memory, VcpuState state, ulong linear, out ulong physical)
    {
        physical = 0;
        if (!state.Sys.Paging)
        {
            physical = linear;
            return true;
        }
        if (!Mmu.IsCanonical(linear)) return false;
        ulong table = state.Sys.Cr3 & ControlBits.PhysicalPageMask;
        for (int level = 4; level >= 1; level--)
        {
            int shift = 12 + 9 * (level - 1);
            ulong entryAddress = table + ((linear >> shift) & 511) * 8;
            if (!IsRam(memory, entryAddress, 8)) return false;
            ulong entry = memory.Read(entryAddress, 8);
            if ((entry & PageTableBits.Present) == 0) return false;
            bool leaf = level == 1 || (level <= 3 && (entry & PageTableBits.PageSize) != 0);
            ulong frame = entry & ControlBits.PhysicalPageMask;
            if (leaf)
            {
                ulong offsetMask = (1UL << shift) - 1;
                physical = (frame & ~offsetMask) | (linear & offsetMask);
                return true;
            }
            table = frame;
        }
        return false;
    }

    /// <summary>Copies guest virtual bytes into <paramref name="buffer"/>; false when any byte is unmapped or not RAM.</summary>
    public static bool TryRead(PhysicalMemory memory, VcpuState state, ulong linear, Span<byte> buffer)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            ulong address = linear + (ulong)done;
            int inPage = (int)Math.Min((ulong)(buffer.Length - done), 0x1000 - (address & PageMask));
            if (!TryTranslate(memory, state, address, out ulong physical) || !IsRam(memory, physical, (ulong)inPage)) return false;
            memory.ReadBytes(physical, buffer.Slice(done, inPage));
            done += inPage;
        }
        return true;
    }

    private static bool IsRam(PhysicalMemory memory, ulong physical, ulong length) =>
        memory.IsRam(physical, length) && !memory.IsMmio(physical);
}
