using System.Buffers.Binary;
using Drk.Hv.Memory;

namespace Drk.Hv.Boot;

/// <summary>
/// The loader's initial page tables: the first 4 GiB identity-mapped with 2 MiB pages,
/// supervisor-only, writable and executable, so the kernel's physical entry point runs with
/// paging on and can reach RAM, the local APIC and its own tables.
/// </summary>
public static class IdentityPageTables
{
    /// <summary>Gigabytes mapped.</summary>
    public const int Gigabytes = 4;

    /// <summary>Writes PML4, PDPT and four page directories at <paramref name="address"/> (page-aligned, 24 KiB of RAM); returns CR3.</summary>
    public static ulong Build(PhysicalMemory memory, ulong address)
    {
        const ulong table = PageTableBits.Present | PageTableBits.Writable;
        var tables = memory.GetRamSpan(address, (int)BootLayout.PageTablesSize);
        tables.Clear();
        ulong pdpt = address + 0x1000;
        BinaryPrimitives.WriteUInt64LittleEndian(tables, pdpt | table);
        for (int g = 0; g < Gigabytes; g++)
        {
            ulong pd = address + 0x2000 + (ulong)g * 0x1000;
            BinaryPrimitives.WriteUInt64LittleEndian(tables.Slice(0x1000 + g * 8), pd | table);
            var directory = tables.Slice(0x2000 + g * 0x1000, 0x1000);
            for (int i = 0; i < 512; i++)
            {
                ulong frame = ((ulong)g << 30) | ((ulong)i << 21);
                BinaryPrimitives.WriteUInt64LittleEndian(directory.Slice(i * 8), frame | table | PageTableBits.PageSize);
            }
        }
        return address;
    }
}
