namespace Drk.Hv.Memory;

/// <summary>
/// Flag bits kept in the low 12 bits of a <see cref="TlbEntry"/> tag (QEMU's TLB_NOTDIRTY idea):
/// any flag makes the fast path's single compare fail, and the slow path reads the flag to learn why.
/// </summary>
internal static class TlbTag
{
    /// <summary>No translation for this access kind (never filled, flushed, or not permitted).</summary>
    public const ulong Invalid = 1;
    /// <summary>The page is not plain RAM (MMIO or unbacked): accesses go through device dispatch.</summary>
    public const ulong Mmio = 2;
    /// <summary>The page holds translated code: writes raise the code-write event first.</summary>
    public const ulong CodeWatched = 4;
    /// <summary>Mask of all flag bits.</summary>
    public const ulong Flags = 0xFFF;
}
