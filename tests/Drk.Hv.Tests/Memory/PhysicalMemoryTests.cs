using Drk.Hv.Memory;
using Drk.Hv.Tests.Support;
using static Drk.Hv.Tests.Support.PageTableBuilder;

namespace Drk.Hv.Tests.Memory;

public sealed class PhysicalMemoryTests
{
    private sealed class RecordingDevice : IMmioDevice
    {
        public readonly List<string> Log = new();
        public ulong Read(ulong offset, int size)
        {
            Log.Add($"r{size}@{offset:x}");
            return 0x1122_3344_5566_7788;
        }
        public void Write(ulong offset, int size, ulong value) => Log.Add($"w{size}@{offset:x}={value:x}");
    }

    [Fact]
    public void RamStartsZeroedAndIsBoundsChecked()
    {
        using var memory = new PhysicalMemory(2 << 20);
        Assert.Equal(0UL, memory.Read(0x1F_FFF8, 8));
        Assert.Throws<ArgumentOutOfRangeException>(() => memory.GetRamSpan(0x1F_FFFF, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PhysicalMemory(12345));
    }

    [Fact]
    public void UnbackedAddressesReadAllOnesIgnoreWritesAndAreLoggedOncePerPage()
    {
        using var memory = new PhysicalMemory(2 << 20);
        Assert.Equal(0xFFFFUL, memory.Read(0x1000_0000, 2));
        Assert.Equal(ulong.MaxValue, memory.Read(0x1000_0008, 8));
        memory.Write(0x1000_0000, 4, 5);
        Assert.Equal(2, memory.Log.Entries.Count); // one read, one write entry for the page
    }

    [Fact]
    public void MmioRangesGoToTheirDeviceThroughTheMmu()
    {
        using var m = new LongModeFixture();
        var device = new RecordingDevice();
        m.Memory.MapMmio(0xC000_0000, 0x1000, device);
        m.Tables.Map(0x4000_0000, 0xC000_0000, P | RW);
        Assert.True(m.Mmu.Read(0x4000_0010, 4, out ulong v, out _));
        Assert.Equal(0x5566_7788UL, v);
        Assert.True(m.Mmu.Write(0x4000_0020, 2, 0xABCD, out _));
        Assert.True(m.Mmu.Read(0x4000_0010, 1, out _, out _)); // MMIO is never on the fast path
        Assert.Equal(new[] { "r4@10", "w2@20=abcd", "r1@10" }, device.Log);
    }

    [Fact]
    public void OverlappingMmioRangesAreRejected()
    {
        using var memory = new PhysicalMemory(2 << 20);
        memory.MapMmio(0xC000_0000, 0x2000, new RecordingDevice());
        Assert.Throws<ArgumentException>(() => memory.MapMmio(0xC000_1000, 0x1000, new RecordingDevice()));
    }
}
