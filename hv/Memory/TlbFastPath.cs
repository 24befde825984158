using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Drk.Hv.Memory;

/// <summary>
/// What a code generator (the dispatcher's JIT tier) needs to inline the read/write fast path of
/// <see cref="Mmu"/>: where a vCPU's soft-TLB entries are and how an entry is laid out. Read only:
/// the MMU alone fills and flushes entries.
/// </summary>
/// <remarks>
/// <para>
/// The fast path, exactly as <see cref="Mmu.Read"/> and <see cref="Mmu.Write"/> run it: for an
/// access of <c>size</c> bytes at linear <c>address</c> by a vCPU at CPL <c>cpl</c>, the entry is at
/// <c>EntriesAddress(mmu, cpl == 3) + ((address &gt;&gt; PageShift) &amp; IndexMask) * EntrySize</c>
/// (the CPL is <c>mmu.State.Cpl</c>). When the 64-bit tag at <see cref="ReadTagOffset"/> (reads)
/// or <see cref="WriteTagOffset"/> (writes) equals <c>(address + size - 1) &amp; ~PageOffsetMask</c>,
/// the bytes are at host address <c>*(nint*)(entry + HostAddendOffset) + address</c>, little-endian,
/// possibly unaligned. Otherwise call <see cref="Mmu.Read"/>/<see cref="Mmu.Write"/>: they handle
/// misses, page-crossing, MMIO, write-watched code pages and faults.
/// </para>
/// <para>
/// The entry arrays are allocated pinned and live as long as the MMU, so their addresses may be
/// embedded in generated code that keeps the MMU reachable.
/// </para>
/// </remarks>
public static class TlbFastPath
{
    /// <summary>log2 of the page size the TLB indexes by.</summary>
    public const int PageShift = 12;

    /// <summary>Mask of the byte offset within a page.</summary>
    public const ulong PageOffsetMask = 0xFFF;

    /// <summary>Mask applied to the linear page number to index the entries.</summary>
    public const ulong IndexMask = SoftTlb.IndexMask;

    /// <summary>Size in bytes of one entry.</summary>
    public static int EntrySize => Unsafe.SizeOf<TlbEntry>();

    /// <summary>log2 of <see cref="EntrySize"/>: an entry's byte offset is its index shifted left by this.</summary>
    public static int EntryShift => BitOperations.Log2((uint)EntrySize);

    /// <summary>Offset in an entry of the tag that reads compare against.</summary>
    public static int ReadTagOffset => (int)Marshal.OffsetOf<TlbEntry>(nameof(TlbEntry.ReadTag));

    /// <summary>Offset in an entry of the tag that writes compare against.</summary>
    public static int WriteTagOffset => (int)Marshal.OffsetOf<TlbEntry>(nameof(TlbEntry.WriteTag));

    /// <summary>Offset in an entry of the host addend (host address of a byte = addend + its linear address).</summary>
    public static int HostAddendOffset => (int)Marshal.OffsetOf<TlbEntry>(nameof(TlbEntry.HostAddend));

    /// <summary>Host address of the first entry that accesses of <paramref name="mmu"/>'s vCPU at user (CPL 3) or supervisor privilege use.</summary>
    public static unsafe nint EntriesAddress(Mmu mmu, bool user) =>
        (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(user ? mmu.Tlb.User : mmu.Tlb.Supervisor));
}
