using Drk.Hv.Cpu;
using Drk.Hv.Memory;
using Drk.Hv.Tests.Support;
using static Drk.Hv.Tests.Support.PageTableBuilder;

namespace Drk.Hv.Tests.Memory;

/// <summary>A cached translation is used until INVLPG or a CR3 write, as on hardware, and not after.</summary>
public sealed class TlbInvalidationTests : IDisposable
{
    private const ulong Linear = 0x4000_0000;
    private readonly LongModeFixture _m = new();

    public TlbInvalidationTests()
    {
        _m.Write64(0x80_0000, 0xAAAA);
        _m.Write64(0x90_0000, 0xBBBB);
        _m.Tables.Map(Linear, 0x80_0000, P | RW);
    }

    public void Dispose() => _m.Dispose();

    private ulong Read(ulong linear)
    {
        Assert.True(_m.Mmu.Read(linear, 8, out ulong v, out var f), f.ToString());
        return v;
    }

    [Fact]
    public void AStaleTranslationIsUsedUntilInvlpg()
    {
        Assert.Equal(0xAAAAUL, Read(Linear));
        _m.Tables.Map(Linear, 0x90_0000, P | RW);
        Assert.Equal(0xAAAAUL, Read(Linear));
        Assert.Equal(SystemOutcome.Continue, _m.Exec(SystemOp.Invlpg, Linear + 0x10));
        Assert.Equal(0xBBBBUL, Read(Linear));
    }

    [Fact]
    public void AStaleTranslationIsUsedUntilACr3Write()
    {
        Assert.Equal(0xAAAAUL, Read(Linear));
        _m.Tables.Map(Linear, 0x90_0000, P | RW);
        Assert.Equal(0xAAAAUL, Read(Linear));
        Assert.Equal(SystemOutcome.Continue, _m.Exec(SystemOp.WriteCr, 3, _m.State.Sys.Cr3));
        Assert.Equal(0xBBBBUL, Read(Linear));
    }

    [Theory]
    [InlineData(3)]
    [InlineData(127)]
    [InlineData(128)] // two fills per page (supervisor and user): 256, the limit
    [InlineData(129)]
    [InlineData(700)]
    public void ACr3WriteDropsEveryEntryHoweverManyWereFilled(int pages)
    {
        // The flush rewrites only the entries filled since the last one, up to a limit, and all of
        // them past it: both sides of the limit, user and supervisor entries, must be gone.
        const ulong first = 0x80_0000, second = 0xC0_0000;
        CachedPages.CacheThenRemap(_m, pages, first, second);
        _m.Exec(SystemOp.WriteCr, 3, _m.State.Sys.Cr3);
        CachedPages.AssertRemapped(_m, pages, second);
    }

    [Fact]
    public void StalePermissionsLastUntilInvlpgToo()
    {
        Assert.True(_m.Mmu.Write(Linear, 8, 1, out _));
        _m.Tables.Map(Linear, 0x80_0000, P | A | D); // now read-only
        Assert.True(_m.Mmu.Write(Linear, 8, 2, out _));
        _m.Exec(SystemOp.Invlpg, Linear);
        Assert.False(_m.Mmu.Write(Linear, 8, 3, out var fault));
        Assert.Equal(ExceptionVector.PageFault, fault.Vector);
        Assert.Equal(2UL, _m.Read64(0x80_0000));
    }

    [Fact]
    public void InvlpgOfOneAddressDropsEveryPieceOfALargePage()
    {
        const ulong big = 0x80_0000_0000;
        _m.Tables.Map(big, 0x20_0000, P | RW, 0x20_0000);
        _m.Write64(0x20_0000 + 0x5000, 1);
        _m.Write64(0x40_0000 + 0x5000, 2);
        Assert.Equal(1UL, Read(big + 0x5000));
        _m.Tables.Map(big, 0x40_0000, P | RW, 0x20_0000);
        Assert.Equal(1UL, Read(big + 0x5000));
        _m.Exec(SystemOp.Invlpg, big + 0x1F_F000); // another 4 KiB piece of the same 2 MiB page
        Assert.Equal(2UL, Read(big + 0x5000));
    }

    [Fact]
    public void InvlpgLeavesOtherPagesCached()
    {
        const ulong other = Linear + 0x1000;
        _m.Tables.Map(other, 0x80_0000, P | RW);
        Assert.Equal(0xAAAAUL, Read(other));
        _m.Tables.Map(other, 0x90_0000, P | RW);
        _m.Exec(SystemOp.Invlpg, Linear);
        Assert.Equal(0xAAAAUL, Read(other));
    }

    [Fact]
    public void UserAndSupervisorTranslationsAreCachedSeparately()
    {
        _m.Tables.Map(Linear, 0x80_0000, P | RW); // supervisor only
        Assert.Equal(0xAAAAUL, Read(Linear));
        _m.State.Cpl = 3;
        Assert.False(_m.Mmu.Read(Linear, 8, out _, out var fault));
        Assert.Equal(ExceptionVector.PageFault, fault.Vector);
    }

    [Fact]
    public void ClearingCr0WpFlushesSoSupervisorWritesToReadOnlyPagesSucceed()
    {
        _m.Tables.Map(Linear, 0x80_0000, P | US);
        Assert.False(_m.Mmu.Write(Linear, 8, 9, out _));
        Assert.Equal(SystemOutcome.Continue, _m.Exec(SystemOp.WriteCr, 0, _m.State.Sys.Cr0 & ~ControlBits.Cr0WP));
        Assert.True(_m.Mmu.Write(Linear, 8, 9, out _));
        Assert.Equal(9UL, _m.Read64(0x80_0000));
    }
}
