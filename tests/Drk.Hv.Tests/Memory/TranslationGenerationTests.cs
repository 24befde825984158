using Drk.Hv.Cpu;
using Drk.Hv.Memory;
using Drk.Hv.Tests.Support;
using static Drk.Hv.Tests.Support.PageTableBuilder;

namespace Drk.Hv.Tests.Memory;

/// <summary>
/// <see cref="Mmu.TranslationGeneration"/> moves whenever a translation could come out different
/// (a fill, INVLPG, a CR3 write) and stays put across hits, which is what the dispatcher relies
/// on to skip re-translating links, indirect-branch targets and trace pages.
/// </summary>
public sealed class TranslationGenerationTests : IDisposable
{
    private const ulong Linear = 0x4000_0000;
    private readonly LongModeFixture _m = new();

    public TranslationGenerationTests()
    {
        _m.Tables.Map(Linear, 0x80_0000, P | RW);
        _m.Tables.Map(Linear + 0x1000, 0x90_0000, P | RW);
    }

    public void Dispose() => _m.Dispose();

    private ulong Translate(ulong linear)
    {
        Assert.True(_m.Mmu.Translate(linear, AccessKind.Execute, out ulong physical, out var fault), fault.ToString());
        return physical;
    }

    [Fact]
    public void HitsLeaveItAndAFillMovesIt()
    {
        ulong before = _m.Mmu.TranslationGeneration;
        Translate(Linear);
        ulong afterFill = _m.Mmu.TranslationGeneration;
        Assert.NotEqual(before, afterFill);
        Assert.Equal(0x80_0008UL, Translate(Linear + 8));
        Assert.True(_m.Mmu.Read(Linear, 8, out _, out _));
        Assert.Equal(afterFill, _m.Mmu.TranslationGeneration);
        Translate(Linear + 0x1000);
        Assert.NotEqual(afterFill, _m.Mmu.TranslationGeneration);
    }

    [Fact]
    public void InvlpgAndCr3WritesMoveIt()
    {
        Translate(Linear);
        ulong g = _m.Mmu.TranslationGeneration;
        _m.Exec(SystemOp.Invlpg, Linear + 0x5000);
        Assert.NotEqual(g, g = _m.Mmu.TranslationGeneration);
        _m.Exec(SystemOp.WriteCr, 3, _m.State.Sys.Cr3);
        Assert.NotEqual(g, _m.Mmu.TranslationGeneration);
    }

    [Fact]
    public void ARemapIsSeenOnlyAfterTheGenerationMoved()
    {
        Assert.Equal(0x80_0000UL, Translate(Linear));
        ulong g = _m.Mmu.TranslationGeneration;
        _m.Tables.Map(Linear, 0xA0_0000, P | RW);
        // Same generation: the stale translation is still the answer (as on hardware until INVLPG).
        Assert.Equal(0x80_0000UL, Translate(Linear));
        Assert.Equal(g, _m.Mmu.TranslationGeneration);
        _m.Exec(SystemOp.Invlpg, Linear);
        Assert.NotEqual(g, _m.Mmu.TranslationGeneration);
        Assert.Equal(0xA0_0000UL, Translate(Linear));
    }
}
