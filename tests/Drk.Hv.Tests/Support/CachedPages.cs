using Drk.Hv.Memory;
using static Drk.Hv.Tests.Support.PageTableBuilder;

namespace Drk.Hv.Tests.Support;

/// <summary>
/// Many user pages cached in the soft TLB (supervisor and user entries) and then remapped in the
/// page tables only, for tests of what a flush drops: each page holds its number, and its new
/// frame the number plus 10,000.
/// </summary>
internal static class CachedPages
{
    private const ulong Base = 0x10_0000_0000;

    /// <summary>Maps <paramref name="pages"/> pages to frames from <paramref name="first"/>, reads each as supervisor and user, then maps them to frames from <paramref name="second"/> in the tables.</summary>
    public static void CacheThenRemap(LongModeFixture m, int pages, ulong first, ulong second)
    {
        for (int i = 0; i < pages; i++)
        {
            ulong linear = Base + (ulong)i * 0x1000;
            m.Tables.Map(linear, first + (ulong)i * 0x1000, P | RW | US);
            m.Write64(first + (ulong)i * 0x1000, (ulong)i);
            m.Write64(second + (ulong)i * 0x1000, (ulong)i + 10_000);
            Assert.True(m.Mmu.Read(linear, 8, out ulong v, out var f), f.ToString());
            Assert.Equal((ulong)i, v);
            Assert.True(m.Mmu.Translate(linear, AccessKind.Read, user: true, out _, out _));
        }
        for (int i = 0; i < pages; i++)
            m.Tables.Map(Base + (ulong)i * 0x1000, second + (ulong)i * 0x1000, P | RW | US);
    }

    /// <summary>Asserts that every page now reads, as supervisor and user, through its new frame.</summary>
    public static void AssertRemapped(LongModeFixture m, int pages, ulong second)
    {
        for (int i = 0; i < pages; i++)
        {
            ulong linear = Base + (ulong)i * 0x1000;
            Assert.True(m.Mmu.Read(linear, 8, out ulong v, out var f), f.ToString());
            Assert.Equal((ulong)i + 10_000, v);
            Assert.True(m.Mmu.Translate(linear, AccessKind.Read, user: true, out ulong physical, out _));
            Assert.Equal(second + (ulong)i * 0x1000, physical);
        }
    }
}
