using Drk.Hv.Cpu;
using Drk.Hv.Memory;
using Drk.Hv.Tests.Support;
using static Drk.Hv.Tests.Support.PageTableBuilder;

namespace Drk.Hv.Tests.Memory;

/// <summary>Accesses that straddle two pages mapped to unrelated frames complete on both or fault with nothing written.</summary>
public sealed class PageCrossingTests : IDisposable
{
    private const ulong First = 0x4000_0000, Second = 0x4000_1000;
    private readonly LongModeFixture _m = new();

    public PageCrossingTests()
    {
        _m.Tables.Map(First, 0x90_0000, P | RW);
        _m.Tables.Map(Second, 0x80_0000, P | RW);
    }

    public void Dispose() => _m.Dispose();

    [Theory]
    [InlineData(2, 1)]
    [InlineData(4, 1)]
    [InlineData(4, 3)]
    [InlineData(8, 1)]
    [InlineData(8, 5)]
    [InlineData(8, 7)]
    public void ReadsAndWritesSplitAcrossFrames(int size, int bytesInFirst)
    {
        ulong address = Second - (ulong)bytesInFirst;
        ulong value = 0x8877_6655_4433_2211 & PhysicalMemory.SizeMask(size);
        Assert.True(_m.Mmu.Write(address, size, value, out _));
        for (int i = 0; i < size; i++)
        {
            ulong physical = i < bytesInFirst ? 0x90_1000 - (ulong)bytesInFirst + (ulong)i : 0x80_0000 + (ulong)(i - bytesInFirst);
            Assert.Equal((byte)(value >> (8 * i)), _m.Memory.GetRamSpan(physical, 1)[0]);
        }
        Assert.True(_m.Mmu.Read(address, size, out ulong back, out _));
        Assert.Equal(value, back);
    }

    [Fact]
    public void AWriteWhoseSecondPageIsReadOnlyWritesNothing()
    {
        _m.Tables.Map(Second, 0x80_0000, P);
        _m.Mmu.FlushAll();
        Assert.False(_m.Mmu.Write(Second - 4, 8, ulong.MaxValue, out var fault));
        Assert.Equal(ExceptionVector.PageFault, fault.Vector);
        Assert.Equal(Second, fault.Cr2);
        Assert.Equal(PageTableBits.ErrorPresent | PageTableBits.ErrorWrite, fault.ErrorCode);
        Assert.Equal(0UL, _m.Read64(0x90_0FF8));
    }

    [Fact]
    public void AReadWhoseSecondPageIsMissingFaultsWithItsAddress()
    {
        Assert.True(_m.Mmu.Read(First + 0xFF8, 8, out _, out _));
        Assert.False(_m.Mmu.Read(Second + 0xFFE, 4, out _, out var fault));
        Assert.Equal(Second + 0x1000, fault.Cr2);
        Assert.Equal(0u, fault.ErrorCode);
    }

    [Fact]
    public void AFaultOnTheFirstPageIsReportedFirst()
    {
        _m.Tables.Map(First, 0x90_0000, 0);
        _m.Mmu.FlushAll();
        Assert.False(_m.Mmu.Read(Second - 2, 4, out _, out var fault));
        Assert.Equal(Second - 2, fault.Cr2);
    }
}
