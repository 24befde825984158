using Drk.Hv.Cpu;
using Drk.Hv.Memory;
using Drk.Hv.Tests.Support;
using static Drk.Hv.Tests.Support.PageTableBuilder;

namespace Drk.Hv.Tests.Memory;

public sealed class MmuTests : IDisposable
{
    private readonly LongModeFixture _m = new();

    public void Dispose() => _m.Dispose();

    private ulong Read(ulong linear, int size = 8)
    {
        Assert.True(_m.Mmu.Read(linear, size, out ulong v, out var f), f.ToString());
        return v;
    }

    [Fact]
    public void ReadsAndWritesGoToTheMappedFrame()
    {
        _m.Tables.Map(0x7000_0000_0000 - 0x1000, 0x80_0000, P | RW);
        Assert.True(_m.Mmu.Write(0x7000_0000_0000 - 0x1000 + 8, 8, 0x1122_3344_5566_7788, out _));
        Assert.Equal(0x1122_3344_5566_7788UL, _m.Read64(0x80_0008));
        Assert.Equal(0x7788UL, Read(0x7000_0000_0000 - 0x1000 + 8, 2));
        Assert.Equal(0x1122_3344UL, Read(0x7000_0000_0000 - 0x1000 + 12, 4));
    }

    [Fact]
    public void AccessedAndDirtyBitsAreSetByReadsAndWrites()
    {
        const ulong linear = 0x4000_0000;
        _m.Tables.Map(linear, 0x80_0000, P | RW);
        var entries = _m.Tables.EntryAddresses(linear);
        Read(linear);
        foreach (var e in entries) Assert.Equal(A, _m.Read64(e) & A);
        Assert.Equal(0UL, _m.Read64(entries[^1]) & D);
        Assert.True(_m.Mmu.Write(linear, 1, 1, out _));
        Assert.Equal(A | D, _m.Read64(entries[^1]) & (A | D));
    }

    [Fact]
    public void AFirstWriteAfterAReadStillSetsTheDirtyBit()
    {
        const ulong linear = 0x4000_0000;
        _m.Tables.Map(linear, 0x80_0000, P | RW);
        var leaf = _m.Tables.EntryAddresses(linear)[^1];
        Read(linear); // fills the TLB from a clean PTE
        Assert.True(_m.Mmu.Write(linear + 8, 8, 7, out _));
        Assert.Equal(D, _m.Read64(leaf) & D);
    }

    [Theory]
    [InlineData(0x20_0000UL)]
    [InlineData(0x4000_0000UL)]
    public void LargePagesTranslateEveryOffset(ulong size)
    {
        const ulong linear = 0x80_0000_0000;
        ulong frame = size == 0x4000_0000 ? 0UL : 0x20_0000UL;
        _m.Tables.Map(linear, frame, P | RW, size);
        ulong offset = size == 0x4000_0000 ? 0x7F_F008UL : 0x1_2348UL;
        _m.Write64(frame + offset, 0xABCD);
        Assert.Equal(0xABCDUL, Read(linear + offset));
        Assert.True(_m.Mmu.Translate(linear + offset, AccessKind.Read, out ulong physical, out _));
        Assert.Equal(frame + offset, physical);
        var leaf = _m.Tables.EntryAddresses(linear)[^1];
        Assert.Equal(PS, _m.Read64(leaf) & PS);
    }

    [Fact]
    public void ReservedBitsRaiseAReservedPageFault()
    {
        const ulong linear = 0x4000_0000;
        _m.Tables.Map(linear, 0x80_0000, P | RW);
        var leaf = _m.Tables.EntryAddresses(linear)[^1];
        _m.Write64(leaf, _m.Read64(leaf) | (1UL << 45)); // above the 40-bit physical width
        Assert.False(_m.Mmu.Write(linear, 1, 0, out var fault));
        Assert.Equal(ExceptionVector.PageFault, fault.Vector);
        Assert.Equal(PageTableBits.ErrorPresent | PageTableBits.ErrorReserved | PageTableBits.ErrorWrite, fault.ErrorCode);
    }

    [Fact]
    public void ASetPsBitInAPml4EntryIsReserved()
    {
        const ulong linear = 0x4000_0000;
        _m.Tables.Map(linear, 0x80_0000, P | RW);
        var pml4e = _m.Tables.EntryAddresses(linear)[0];
        _m.Write64(pml4e, _m.Read64(pml4e) | PS);
        Assert.False(_m.Mmu.Read(linear, 1, out _, out var fault));
        Assert.Equal(PageTableBits.ErrorPresent | PageTableBits.ErrorReserved, fault.ErrorCode);
    }

    [Theory]
    [InlineData(0x0000_8000_0000_0000UL)]
    [InlineData(0xFFFF_7FFF_FFFF_FFF8UL)]
    public void NonCanonicalAddressesRaiseGeneralProtection(ulong address)
    {
        Assert.False(_m.Mmu.Read(address, 8, out _, out var fault));
        Assert.Equal(ExceptionVector.GeneralProtection, fault.Vector);
        Assert.Equal(0u, fault.ErrorCode);
        Assert.False(_m.Mmu.Write(address, 1, 0, out fault));
        Assert.Equal(ExceptionVector.GeneralProtection, fault.Vector);
    }

    [Fact]
    public void AnAccessRunningIntoTheNonCanonicalHoleFaults()
    {
        const ulong last = 0x0000_7FFF_FFFF_F000;
        _m.Tables.Map(last, 0x80_0000, P | RW);
        Assert.False(_m.Mmu.Read(last + 0xFFC, 8, out _, out var fault));
        Assert.Equal(ExceptionVector.GeneralProtection, fault.Vector);
    }

    [Fact]
    public void WithPagingOffLinearIsPhysical()
    {
        var state = new VcpuState();
        var mmu = new Mmu(_m.Memory, state);
        _m.Write64(0x12_3450, 42);
        Assert.True(mmu.Read(0x12_3450, 8, out ulong v, out _));
        Assert.Equal(42UL, v);
        state.Cpl = 3;
        Assert.True(mmu.Write(0x12_3458, 4, 7, out _));
        Assert.Equal(7UL, _m.Read64(0x12_3458));
    }

    [Fact]
    public void SupervisorAccessesIgnoreCplButUserAccessesDoNot()
    {
        const ulong linear = 0x4000_0000;
        _m.Tables.Map(linear, 0x80_0000, P | RW); // supervisor page
        _m.State.Cpl = 3;
        Assert.False(_m.Mmu.Read(linear, 8, out _, out var fault));
        Assert.Equal(PageTableBits.ErrorPresent | PageTableBits.ErrorUser, fault.ErrorCode);
        Assert.True(_m.Mmu.ReadSupervisor(linear, 8, out _, out _));
        Assert.True(_m.Mmu.WriteSupervisor(linear, 8, 5, out _));
        Assert.Equal(5UL, _m.Read64(0x80_0000));
    }

    [Fact]
    public void FetchCopiesAcrossPagesAndStopsAtTheFirstUnfetchableByte()
    {
        _m.Tables.Map(0x4000_0000, 0x80_0000, P);
        _m.Tables.Map(0x4000_1000, 0x90_0000, P | NX);
        _m.Memory.GetRamSpan(0x80_0FFE, 2).Fill(0xCC);
        var buffer = new byte[8];
        int n = _m.Mmu.Fetch(0x4000_0FFE, buffer, out var fault);
        Assert.Equal(2, n);
        Assert.Equal(0xCC, buffer[1]);
        Assert.Equal(ExceptionVector.PageFault, fault.Vector);
        Assert.Equal(0x4000_1000UL, fault.Cr2);
        Assert.Equal(PageTableBits.ErrorPresent | PageTableBits.ErrorFetch, fault.ErrorCode);
    }
}
