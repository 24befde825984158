using Drk.Hv.Cpu;
using Drk.Hv.Memory;
using Drk.Hv.Tests.Support;
using static Drk.Hv.Tests.Support.PageTableBuilder;

namespace Drk.Hv.Tests.Memory;

/// <summary>
/// Global pages: with CR4.PGE set, a translation whose leaf has the G bit survives a CR3 write
/// (it stays stale until INVLPG, a CR4.PGE toggle or a paging-mode change), as on hardware; the
/// G bit means nothing without CR4.PGE, and other translations go as before.
/// </summary>
public sealed class GlobalPageTests : IDisposable
{
    private const ulong G = PageTableBits.Global;
    // TLB index 1000: no other page these tests cache evicts it from the direct-mapped TLB.
    private const ulong Linear = 0x4000_0000 + 1000 * 0x1000;
    private const ulong Old = 0x80_0000, New = 0x90_0000;
    private readonly LongModeFixture _m = new(32 << 20);

    public GlobalPageTests()
    {
        _m.Write64(Old, 0xAAAA);
        _m.Write64(New, 0xBBBB);
    }

    public void Dispose() => _m.Dispose();

    private ulong Read(ulong linear)
    {
        Assert.True(_m.Mmu.Read(linear, 8, out ulong v, out var f), f.ToString());
        return v;
    }

    private void SetPge(bool on) =>
        Assert.Equal(SystemOutcome.Continue, _m.Exec(SystemOp.WriteCr, 4,
            on ? _m.State.Sys.Cr4 | ControlBits.Cr4PGE : _m.State.Sys.Cr4 & ~ControlBits.Cr4PGE));

    private void WriteCr3() => Assert.Equal(SystemOutcome.Continue, _m.Exec(SystemOp.WriteCr, 3, _m.State.Sys.Cr3));

    // Caches Linear -> Old, then remaps it to New in the tables only.
    private void CacheThenRemap(ulong flags, ulong pageSize = 0x1000)
    {
        _m.Tables.Map(Linear, Old & ~(pageSize - 1), P | RW | flags, pageSize);
        ulong offset = Old & (pageSize - 1);
        Assert.Equal(0xAAAAUL, Read(Linear + offset));
        _m.Tables.Map(Linear, New & ~(pageSize - 1), P | RW | flags, pageSize);
    }

    [Fact]
    public void A_global_translation_survives_a_CR3_write_until_INVLPG()
    {
        SetPge(true);
        CacheThenRemap(G);
        WriteCr3();
        Assert.Equal(0xAAAAUL, Read(Linear));
        _m.Exec(SystemOp.Invlpg, Linear);
        Assert.Equal(0xBBBBUL, Read(Linear));
    }

    [Fact]
    public void Without_CR4_PGE_the_G_bit_is_ignored()
    {
        CacheThenRemap(G);
        WriteCr3();
        Assert.Equal(0xBBBBUL, Read(Linear));
    }

    [Fact]
    public void Clearing_CR4_PGE_drops_global_translations()
    {
        SetPge(true);
        CacheThenRemap(G);
        SetPge(false);
        Assert.Equal(0xBBBBUL, Read(Linear));
    }

    [Fact]
    public void A_paging_mode_change_drops_global_translations()
    {
        SetPge(true);
        CacheThenRemap(G);
        Assert.Equal(SystemOutcome.Continue, _m.Exec(SystemOp.WriteCr, 0, _m.State.Sys.Cr0 & ~ControlBits.Cr0WP));
        Assert.Equal(0xBBBBUL, Read(Linear));
    }

    [Theory]
    [InlineData(3)]
    [InlineData(700)] // past the TLB's list of fills: the flush looks at every entry
    public void A_CR3_write_drops_every_other_translation_and_keeps_the_global_one(int pages)
    {
        SetPge(true);
        CacheThenRemap(G);
        const ulong first = 0x100_0000, second = 0x140_0000;
        CachedPages.CacheThenRemap(_m, pages, first, second);
        WriteCr3();
        CachedPages.AssertRemapped(_m, pages, second);
        Assert.Equal(0xAAAAUL, Read(Linear));
    }

    [Theory]
    [InlineData(0x1F_F000)] // other 4 KiB pieces of the same 2 MiB page, above and below the cached one
    [InlineData(0x0)]
    public void A_global_large_page_survives_a_CR3_write_and_INVLPG_of_another_piece_drops_it(ulong invlpgOffset)
    {
        SetPge(true);
        const ulong big = 0x80_0000_0000;
        _m.Tables.Map(big, 0x20_0000, P | RW | G, 0x20_0000);
        _m.Write64(0x20_0000 + 0x5000, 1);
        _m.Write64(0x40_0000 + 0x5000, 2);
        Assert.Equal(1UL, Read(big + 0x5000));
        _m.Tables.Map(big, 0x40_0000, P | RW | G, 0x20_0000);
        WriteCr3();
        Assert.Equal(1UL, Read(big + 0x5000));
        _m.Exec(SystemOp.Invlpg, big + invlpgOffset);
        Assert.Equal(2UL, Read(big + 0x5000));
    }

    [Fact]
    public void INVLPG_outside_a_cached_global_large_page_leaves_it_cached()
    {
        SetPge(true);
        const ulong big = 0x80_0000_0000;
        _m.Tables.Map(big, 0x20_0000, P | RW | G, 0x20_0000);
        _m.Write64(0x20_0000 + 0x5000, 1);
        Assert.Equal(1UL, Read(big + 0x5000));
        _m.Tables.Map(big, 0x40_0000, P | RW | G, 0x20_0000);
        _m.Exec(SystemOp.Invlpg, big + 0x20_0000); // the next 2 MiB page
        _m.Exec(SystemOp.Invlpg, big - 0x1000);
        Assert.Equal(1UL, Read(big + 0x5000));
    }
}
