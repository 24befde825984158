using Drk.Hv.Memory;

namespace Drk.Hv.Tests.Support;

/// <summary>Builds long-mode page tables in a test's physical memory, allocating table pages from a bump pointer.</summary>
public sealed class PageTableBuilder
{
    public const ulong P = PageTableBits.Present, RW = PageTableBits.Writable, US = PageTableBits.User,
        PS = PageTableBits.PageSize, NX = PageTableBits.NoExecute, A = PageTableBits.Accessed, D = PageTableBits.Dirty;
    private const ulong AddressMask = 0x000F_FFFF_FFFF_F000;

    private readonly PhysicalMemory _memory;
    private ulong _next;

    /// <param name="tableArea">Physical address where table pages are allocated from (page-aligned).</param>
    public PageTableBuilder(PhysicalMemory memory, ulong tableArea)
    {
        _memory = memory;
        _next = tableArea;
        Cr3 = NewTable();
    }

    /// <summary>The PML4's physical address.</summary>
    public ulong Cr3 { get; }

    private ulong NewTable()
    {
        ulong t = _next;
        _next += 0x1000;
        _memory.GetRamSpan(t, 0x1000).Clear();
        return t;
    }

    /// <summary>
    /// Maps the page of size <paramref name="pageSize"/> (4 KiB, 2 MiB, 1 GiB) at <paramref name="linear"/>
    /// to <paramref name="physical"/>; intermediate entries get <paramref name="tableFlags"/>.
    /// </summary>
    public void Map(ulong linear, ulong physical, ulong leafFlags, ulong pageSize = 0x1000, ulong tableFlags = P | RW | US)
    {
        int leafLevel = pageSize switch { 0x1000 => 1, 0x20_0000 => 2, 0x4000_0000 => 3, _ => throw new ArgumentException("page size") };
        ulong table = Cr3;
        for (int level = 4; level > leafLevel; level--)
        {
            ulong at = EntryAddress(table, linear, level);
            ulong e = _memory.Read(at, 8);
            if ((e & P) == 0)
            {
                e = NewTable() | tableFlags;
                _memory.Write(at, 8, e);
            }
            table = e & AddressMask;
        }
        ulong leaf = physical | leafFlags | (leafLevel > 1 ? PS : 0);
        _memory.Write(EntryAddress(table, linear, leafLevel), 8, leaf);
    }

    /// <summary>The physical addresses of the entries that translate <paramref name="linear"/>, from PML4E down to the leaf.</summary>
    public List<ulong> EntryAddresses(ulong linear)
    {
        var list = new List<ulong>();
        ulong table = Cr3;
        for (int level = 4; level >= 1; level--)
        {
            ulong at = EntryAddress(table, linear, level);
            list.Add(at);
            ulong e = _memory.Read(at, 8);
            if ((e & P) == 0 || (level < 4 && (e & PS) != 0) || level == 1) break;
            table = e & AddressMask;
        }
        return list;
    }

    private static ulong EntryAddress(ulong table, ulong linear, int level) =>
        table + ((linear >> (12 + 9 * (level - 1))) & 511) * 8;
}
