namespace Drk.Hv.Memory;

/// <summary>
/// One cached translation of a 4 KiB linear page, with a tag per access kind. A tag equals the
/// page's linear address exactly when that kind of access may use the fast path; otherwise it
/// carries <see cref="TlbTag"/> flag bits in its low 12 bits, which no page address has.
/// </summary>
internal struct TlbEntry
{
    public ulong ReadTag;
    public ulong WriteTag;
    public ulong FetchTag;
    /// <summary>Host address of a byte = HostAddend + its linear address (RAM pages only).</summary>
    public nint HostAddend;
    /// <summary>Physical address of the 4 KiB page.</summary>
    public ulong PhysicalPage;
    /// <summary>The linear page this entry was filled for (kept when the tags are invalid).</summary>
    public ulong LinearPage;
    /// <summary>Size of the guest page that produced the entry minus one (for INVLPG of large pages).</summary>
    public ulong GuestPageMask;
    /// <summary>
    /// Nonzero when the translation is global (G bit under CR4.PGE), which a CR3 write keeps
    /// (<see cref="SoftTlb.FlushNonGlobal"/>). A whole word, so an entry is 64 bytes and the
    /// inline fast path scales the page index by a shift (<see cref="TlbFastPath.EntryShift"/>)
    /// instead of a multiply on every memory access.
    /// </summary>
    public ulong Global;
}
