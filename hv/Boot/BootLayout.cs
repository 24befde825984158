namespace Drk.Hv.Boot;

/// <summary>
/// Where the PVH loader puts its structures in guest physical memory. The guest must copy what
/// it needs out of them (start info, command line, memory map) and leave the loader's page
/// tables before it reuses memory below 1 MiB, which the memory map reports as RAM as QEMU does.
/// </summary>
/// <remarks>
/// <code>
/// 0x0000_0000  untouched (the null page)
/// 0x0000_1000  boot GDT: null, 0x08 = 64-bit ring-0 code, 0x10 = ring-0 data
/// 0x0000_2000  hvm_start_info (56 bytes)
/// 0x0000_2040  hvm_modlist_entry[1] (the initrd)
/// 0x0000_2080  hvm_memmap_table_entry[] (at most 16)
/// 0x0000_3000  command line, NUL-terminated (at most 4095 bytes)
/// 0x0000_4000  PML4; 0x5000 PDPT; 0x6000..0x9fff four page directories (2 MiB pages)
///              identity-mapping the first 4 GiB, supervisor, read/write, executable
/// 0x000e_0000  ACPI RSDP, then RSDT, XSDT, MADT (in the reserved BIOS area)
/// 0x0010_0000  first byte a kernel PT_LOAD segment may occupy
/// top of RAM   the initrd, page-aligned, ending at or below the end of RAM
/// </code>
/// </remarks>
public static class BootLayout
{
    public const ulong GdtAddress = 0x1000;
    public const ulong StartInfoAddress = 0x2000;
    public const ulong ModuleListAddress = 0x2040;
    public const ulong MemoryMapAddress = 0x2080;
    public const int MaxMemoryMapEntries = 16;
    public const ulong CommandLineAddress = 0x3000;
    public const int MaxCommandLineBytes = 4095;
    public const ulong PageTablesAddress = 0x4000;
    /// <summary>Bytes of page tables: PML4, PDPT and four page directories.</summary>
    public const ulong PageTablesSize = 6 * 0x1000;
    public const ulong AcpiAddress = 0xE_0000;
    public const ulong KernelMinimumAddress = 0x10_0000;

    /// <summary>Boot GDT selectors.</summary>
    public const ushort CodeSelector = 0x08, DataSelector = 0x10;
    /// <summary>Boot GDT entries: null, 64-bit code (L=1, DPL 0), data (writable, DPL 0).</summary>
    public const ulong NullDescriptor = 0, CodeDescriptor = 0x00AF_9A00_0000_FFFF, DataDescriptor = 0x00CF_9200_0000_FFFF;
}
