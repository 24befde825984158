using Drk.Hv.Memory;
using Drk.Hv.Tests.Support;
using static Drk.Hv.Tests.Support.PageTableBuilder;

namespace Drk.Hv.Tests.Memory;

/// <summary>Writes to pages marked as holding translated code are reported before they retire.</summary>
public sealed class CodeWriteWatchTests : IDisposable
{
    private const ulong Linear = 0x4000_0000, Frame = 0x80_0000;
    private readonly LongModeFixture _m = new();
    private readonly List<(ulong Address, int Size, ulong ValueBefore)> _events = new();

    public CodeWriteWatchTests()
    {
        _m.Tables.Map(Linear, Frame, P | RW);
        _m.Tables.Map(Linear + 0x1000, Frame + 0x1000, P | RW);
        _m.Memory.CodePageWritten += OnWrite;
    }

    private void OnWrite(in CodePageWrite w) => _events.Add((w.PhysicalAddress, w.Size, _m.Memory.Read(w.PhysicalAddress, 1)));

    public void Dispose() => _m.Dispose();

    [Fact]
    public void AFastPathWriteToANewlyWatchedPageIsReportedBeforeItLands()
    {
        _m.Memory.GetRamSpan(Frame + 0x10, 1)[0] = 0x90;
        Assert.True(_m.Mmu.Write(Linear + 0x10, 1, 0x90, out _)); // the TLB now allows fast writes
        _m.Memory.WatchCodePage(Frame + 0x123);
        Assert.True(_m.Mmu.Write(Linear + 0x10, 1, 0xCC, out _));
        var e = Assert.Single(_events);
        Assert.Equal(Frame + 0x10, e.Address);
        Assert.Equal(1, e.Size);
        Assert.Equal(0x90UL, e.ValueBefore);
        Assert.Equal(0xCC, _m.Memory.GetRamSpan(Frame + 0x10, 1)[0]);
    }

    [Fact]
    public void AfterUnwatchWritesAreNotReported()
    {
        _m.Memory.WatchCodePage(Frame);
        _m.Memory.CodePageWritten += (in CodePageWrite w) => _m.Memory.UnwatchCodePage(w.PhysicalAddress);
        Assert.True(_m.Mmu.Write(Linear, 8, 1, out _));
        Assert.True(_m.Mmu.Write(Linear, 8, 2, out _));
        Assert.True(_m.Mmu.Write(Linear + 8, 8, 3, out _));
        Assert.Single(_events);
        Assert.False(_m.Memory.IsCodePageWatched(Frame));
    }

    [Fact]
    public void AStaysWatchedPageReportsEveryWrite()
    {
        _m.Memory.WatchCodePage(Frame);
        for (int i = 0; i < 3; i++) Assert.True(_m.Mmu.Write(Linear + 8, 8, (ulong)i, out _));
        Assert.Equal(3, _events.Count);
    }

    [Fact]
    public void APageCrossingWriteReportsTheWatchedPart()
    {
        _m.Memory.WatchCodePage(Frame + 0x1000);
        Assert.True(_m.Mmu.Write(Linear + 0xFFD, 8, ulong.MaxValue, out _));
        var e = Assert.Single(_events);
        Assert.Equal(Frame + 0x1000, e.Address);
        Assert.Equal(5, e.Size);
    }

    [Fact]
    public void AFaultingWriteIsNotReported()
    {
        _m.Tables.Map(Linear, Frame, P);
        _m.Mmu.FlushAll();
        _m.Memory.WatchCodePage(Frame);
        Assert.False(_m.Mmu.Write(Linear, 8, 1, out _));
        Assert.Empty(_events);
    }

    [Fact]
    public void ReadsOfAWatchedPageStayOnTheFastPathAndAreNotReported()
    {
        _m.Memory.WatchCodePage(Frame);
        Assert.True(_m.Mmu.Read(Linear, 8, out _, out _));
        Assert.Empty(_events);
    }

    [Fact]
    public void HypervisorWritesThroughPhysicalMemoryAreReported()
    {
        _m.Memory.WatchCodePage(Frame);
        _m.Memory.Write(Frame + 4, 4, 0xDEAD);
        var e = Assert.Single(_events);
        Assert.Equal(Frame + 4, e.Address);
    }

    [Fact]
    public void EveryAliasOfTheFrameIsWatched()
    {
        const ulong alias = 0x5000_0000;
        _m.Tables.Map(alias, Frame, P | RW);
        Assert.True(_m.Mmu.Write(alias, 8, 1, out _));
        Assert.True(_m.Mmu.Write(Linear, 8, 1, out _));
        _m.Memory.WatchCodePage(Frame);
        Assert.True(_m.Mmu.Write(alias, 8, 2, out _));
        Assert.True(_m.Mmu.Write(Linear, 8, 3, out _));
        Assert.Equal(2, _events.Count);
    }
}
