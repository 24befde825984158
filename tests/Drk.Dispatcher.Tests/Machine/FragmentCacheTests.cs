using Drk.Dispatcher.Execution;
using Drk.Dispatcher.IR;
using Drk.Dispatcher.Tests.Execution;

namespace Drk.Dispatcher.Tests.Machine;

/// <summary>The code cache's keying, page index and invalidation, and a fragment's byte ranges.</summary>
public sealed class FragmentCacheTests
{
    private static Fragment Make(ulong rip, ulong physical, int cpl = 0, int bytes = 4, ulong secondPage = Fragment.NoPage)
    {
        var insns = IrTestKit.Decode(Enumerable.Repeat((byte)0x90, bytes).ToArray(), rip);
        ulong secondLinear = secondPage == Fragment.NoPage ? Fragment.NoPage : (rip & ~0xFFFUL) + 0x1000;
        return new Fragment(new IrBlock(rip, insns), physical, cpl, secondPage, secondLinear);
    }

    [Fact]
    public void Lookup_tells_apart_rip_physical_address_and_cpl()
    {
        var cache = new FragmentCache();
        var a = Make(0x40_1000, 0x10_1000);
        var samePhysicalOtherRip = Make(0x80_1000, 0x10_1000);
        var sameRipOtherPhysical = Make(0x40_1000, 0x20_1000);
        var sameRipOtherCpl = Make(0x40_1000, 0x10_1000, cpl: 3);
        foreach (var f in new[] { a, samePhysicalOtherRip, sameRipOtherPhysical, sameRipOtherCpl }) cache.Add(f);

        Assert.Equal(4, cache.Count);
        Assert.Same(a, cache.Lookup(0x40_1000, 0x10_1000, 0));
        Assert.Same(samePhysicalOtherRip, cache.Lookup(0x80_1000, 0x10_1000, 0));
        Assert.Same(sameRipOtherPhysical, cache.Lookup(0x40_1000, 0x20_1000, 0));
        Assert.Same(sameRipOtherCpl, cache.Lookup(0x40_1000, 0x10_1000, 3));
        Assert.Null(cache.Lookup(0x40_1001, 0x10_1001, 0));
        // Twice, so the second answer comes from the direct-mapped front.
        Assert.Same(a, cache.Lookup(0x40_1000, 0x10_1000, 0));
    }

    [Fact]
    public void Invalidating_a_page_drops_its_fragments_and_those_continuing_onto_it_and_nothing_else()
    {
        var cache = new FragmentCache();
        var onPage = Make(0x40_1010, 0x10_1010);
        var spanning = Make(0x40_0ffe, 0x10_0ffe, bytes: 4, secondPage: 0x10_1000);
        var elsewhere = Make(0x40_2000, 0x10_2000);
        foreach (var f in new[] { onPage, spanning, elsewhere }) cache.Add(f);
        Assert.Same(spanning, cache.Lookup(0x40_0ffe, 0x10_0ffe, 0));

        Assert.Equal(2, cache.InvalidatePage(0x10_1000));

        Assert.False(onPage.IsValid);
        Assert.False(spanning.IsValid);
        Assert.True(elsewhere.IsValid);
        Assert.Null(cache.Lookup(0x40_1010, 0x10_1010, 0));
        Assert.Null(cache.Lookup(0x40_0ffe, 0x10_0ffe, 0));
        Assert.Same(elsewhere, cache.Lookup(0x40_2000, 0x10_2000, 0));
        Assert.False(cache.HasPage(0x10_0000));   // the spanning fragment's first page is forgotten too
        Assert.False(cache.HasPage(0x10_1000));
        Assert.Equal(2, cache.Invalidated);
        Assert.Equal(0, cache.InvalidatePage(0x10_1000));
    }

    [Fact]
    public void Adding_a_fragment_with_the_same_key_replaces_and_invalidates_the_old_one()
    {
        var cache = new FragmentCache();
        var old = Make(0x40_1000, 0x10_1000);
        var fresh = Make(0x40_1000, 0x10_1000, bytes: 8);
        cache.Add(old);
        cache.Add(fresh);
        Assert.False(old.IsValid);
        Assert.Same(fresh, cache.Lookup(0x40_1000, 0x10_1000, 0));
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void Overlaps_covers_exactly_the_code_bytes_on_both_pages()
    {
        var single = Make(0x40_1010, 0x10_1010, bytes: 4);
        Assert.True(single.Overlaps(0x10_1010, 1));
        Assert.True(single.Overlaps(0x10_1013, 1));
        Assert.True(single.Overlaps(0x10_100c, 8));
        Assert.False(single.Overlaps(0x10_1014, 4));
        Assert.False(single.Overlaps(0x10_1008, 8));

        // Two bytes at the end of physical page 0x100000, two more at the start of 0x300000.
        var spanning = Make(0x40_0ffe, 0x10_0ffe, bytes: 4, secondPage: 0x30_0000);
        Assert.True(spanning.IsOnPage(0x10_0000));
        Assert.True(spanning.IsOnPage(0x30_0000));
        Assert.True(spanning.Overlaps(0x10_0fff, 1));
        Assert.True(spanning.Overlaps(0x30_0001, 1));
        Assert.False(spanning.Overlaps(0x30_0002, 2));
        Assert.False(spanning.Overlaps(0x10_0ff0, 0xe));
    }
}
