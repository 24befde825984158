using Drk.Hv.Cpu;

namespace Drk.Hv.Memory;

/// <summary>
/// The long-mode 4-level page walk (4 KiB, 2 MiB and 1 GiB pages): permission checks for an
/// access kind and privilege, reserved-bit checks, and accessed/dirty updates.
/// </summary>
/// <remarks>
/// Permissions combine over the four levels: writable and user only if every level says so,
/// no-execute if any level says so (with EFER.NXE). Supervisor writes ignore R/W when CR0.WP
/// is clear; supervisor accesses to user pages are allowed (SMEP and SMAP are not offered).
/// Accessed bits (and the leaf's dirty bit on a write) are set only when the translation
/// succeeds, which the architecture permits; a faulting access changes no entry.
/// </remarks>
public static class PageWalker
{
    /// <summary>Address bits above the implemented physical width (bits 51:40): reserved in every entry.</summary>
    private const ulong ReservedAddressBits = 0x000F_FFFF_FFFF_F000UL & ~ControlBits.PhysicalPageMask;
    private const ulong Reserved1GiB = 0x3FFF_E000UL;   // bits 29:13 of a 1 GiB PDPTE
    private const ulong Reserved2MiB = 0x001F_E000UL;   // bits 20:13 of a 2 MiB PDE

    /// <summary>
    /// Translates <paramref name="linear"/> (canonical; the caller checks) through the tables at
    /// <paramref name="cr3"/>.
    /// </summary>
    /// <param name="user">The access is made at CPL 3 (not an implicit supervisor access).</param>
    /// <param name="writeProtect">CR0.WP.</param>
    /// <param name="noExecuteEnabled">EFER.NXE.</param>
    /// <param name="errorCode">On failure, the #PF error code (CR2 is <paramref name="linear"/>).</param>
    public static bool Walk(PhysicalMemory memory, ulong cr3, ulong linear, AccessKind kind, bool user,
        bool writeProtect, bool noExecuteEnabled, out PageTranslation translation, out uint errorCode)
    {
        translation = default;
        uint accessBits = (kind == AccessKind.Write ? PageTableBits.ErrorWrite : 0)
                        | (user ? PageTableBits.ErrorUser : 0)
                        | (kind == AccessKind.Execute && noExecuteEnabled ? PageTableBits.ErrorFetch : 0);
        ulong reservedCommon = ReservedAddressBits | (noExecuteEnabled ? 0 : PageTableBits.NoExecute);

        Span<ulong> entryAddress = stackalloc ulong[4];
        Span<ulong> entryValue = stackalloc ulong[4];
        int used = 0;
        ulong table = cr3 & ControlBits.PhysicalPageMask;
        bool writable = true, userOk = true, noExec = false;
        ulong frame = 0, pageMask = 0;

        for (int level = 4; level >= 1; level--)
        {
            int shift = 12 + 9 * (level - 1);
            ulong address = table + ((linear >> shift) & 511) * 8;
            ulong entry = memory.Read(address, 8);
            if ((entry & PageTableBits.Present) == 0)
            {
                errorCode = accessBits;
                return false;
            }
            bool leaf = level == 1 || (level <= 3 && (entry & PageTableBits.PageSize) != 0);
            ulong reserved = reservedCommon;
            if (level == 4) reserved |= PageTableBits.PageSize;
            else if (leaf && level == 3) reserved |= Reserved1GiB;
            else if (leaf && level == 2) reserved |= Reserved2MiB;
            if ((entry & reserved) != 0)
            {
                errorCode = accessBits | PageTableBits.ErrorPresent | PageTableBits.ErrorReserved;
                return false;
            }
            writable &= (entry & PageTableBits.Writable) != 0;
            userOk &= (entry & PageTableBits.User) != 0;
            noExec |= noExecuteEnabled && (entry & PageTableBits.NoExecute) != 0;
            entryAddress[used] = address;
            entryValue[used] = entry;
            used++;
            if (leaf)
            {
                pageMask = (1UL << shift) - 1;
                frame = entry & ControlBits.PhysicalPageMask & ~pageMask;
                break;
            }
            table = entry & ControlBits.PhysicalPageMask;
        }

        bool allowed = kind switch
        {
            AccessKind.Write => user ? userOk && writable : writable || !writeProtect,
            AccessKind.Execute => (!user || userOk) && !noExec,
            _ => !user || userOk,
        };
        if (!allowed)
        {
            errorCode = accessBits | PageTableBits.ErrorPresent;
            return false;
        }

        for (int i = 0; i < used; i++)
        {
            ulong updated = entryValue[i] | PageTableBits.Accessed;
            if (i == used - 1 && kind == AccessKind.Write) updated |= PageTableBits.Dirty;
            if (updated != entryValue[i]) memory.Write(entryAddress[i], 8, updated);
            entryValue[i] = updated;
        }

        translation.PhysicalAddress = frame | (linear & pageMask);
        translation.PageMask = pageMask;
        translation.Writable = writable;
        translation.User = userOk;
        translation.NoExecute = noExec;
        translation.Dirty = (entryValue[used - 1] & PageTableBits.Dirty) != 0;
        translation.Global = (entryValue[used - 1] & PageTableBits.Global) != 0;
        errorCode = 0;
        return true;
    }
}
