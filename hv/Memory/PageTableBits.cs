namespace Drk.Hv.Memory;

/// <summary>Bits of a long-mode paging-structure entry (PML4E, PDPTE, PDE, PTE).</summary>
public static class PageTableBits
{
    public const ulong Present = 1UL << 0;
    public const ulong Writable = 1UL << 1;
    public const ulong User = 1UL << 2;
    public const ulong WriteThrough = 1UL << 3;
    public const ulong CacheDisable = 1UL << 4;
    public const ulong Accessed = 1UL << 5;
    public const ulong Dirty = 1UL << 6;
    /// <summary>PS in a PDPTE (1 GiB page) or PDE (2 MiB page); reserved in a PML4E; PAT in a PTE.</summary>
    public const ulong PageSize = 1UL << 7;
    public const ulong Global = 1UL << 8;
    public const ulong NoExecute = 1UL << 63;

    /// <summary>Page-fault error code: the page was present (a protection or reserved-bit violation).</summary>
    public const uint ErrorPresent = 1;
    /// <summary>Page-fault error code: the access was a write.</summary>
    public const uint ErrorWrite = 2;
    /// <summary>Page-fault error code: the access was made in user mode (CPL 3).</summary>
    public const uint ErrorUser = 4;
    /// <summary>Page-fault error code: a reserved bit was set in a paging-structure entry.</summary>
    public const uint ErrorReserved = 8;
    /// <summary>Page-fault error code: the access was an instruction fetch (reported when EFER.NXE is set).</summary>
    public const uint ErrorFetch = 16;
}
