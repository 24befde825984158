using Drk.Dispatcher.Execution;
using Drk.Dispatcher.Flags;
using Drk.Hv.Cpu;
using Iced.Intel;

namespace Drk.Dispatcher.Tests.Lowering;

/// <summary>REP string instructions executed through decode, lower and interpret: counts 0, 1 and large, both directions, all sizes.</summary>
public sealed class StringExecutionTests
{
    private const int SourceOffset = 0x1000;
    private const int DestinationOffset = 0x8000;
    private const ulong Source = GuestMachine.DataBase + SourceOffset;
    private const ulong Destination = GuestMachine.DataBase + DestinationOffset;

    public static readonly TheoryData<int, int, bool> SizesCountsDirections = Build();

    private static TheoryData<int, int, bool> Build()
    {
        var data = new TheoryData<int, int, bool>();
        foreach (int size in new[] { 1, 2, 4, 8 })
        foreach (int count in new[] { 0, 1, 1000 })
        foreach (bool df in new[] { false, true })
            data.Add(size, count, df);
        return data;
    }

    private static void Emit(Assembler a, string mnemonic, int size, bool rep)
    {
        var prefixed = rep ? a.rep : a;
        switch (mnemonic, size)
        {
            case ("movs", 1): prefixed.movsb(); break;
            case ("movs", 2): prefixed.movsw(); break;
            case ("movs", 4): prefixed.movsd(); break;
            case ("movs", 8): prefixed.movsq(); break;
            case ("stos", 1): prefixed.stosb(); break;
            case ("stos", 2): prefixed.stosw(); break;
            case ("stos", 4): prefixed.stosd(); break;
            case ("stos", 8): prefixed.stosq(); break;
            case ("lods", 1): prefixed.lodsb(); break;
            case ("lods", 2): prefixed.lodsw(); break;
            case ("lods", 4): prefixed.lodsd(); break;
            case ("lods", 8): prefixed.lodsq(); break;
            default: throw new ArgumentException($"{mnemonic}{size}");
        }
    }

    /// <summary>The first element's address when moving <paramref name="count"/> elements from <paramref name="low"/> upwards, or downwards from the top when DF is set.</summary>
    private static ulong Start(ulong low, int size, int count, bool df) =>
        df && count > 0 ? low + (ulong)((count - 1) * size) : low;

    private static ulong After(ulong start, int size, int count, bool df) =>
        df ? start - (ulong)(count * size) : start + (ulong)(count * size);

    [Theory]
    [MemberData(nameof(SizesCountsDirections))]
    public void RepMovsCopiesEveryElement(int size, int count, bool df)
    {
        var m = new GuestMachine(a => Emit(a, "movs", size, rep: true));
        for (int i = 0; i < count * size; i++) m.Data[SourceOffset + i] = (byte)(i * 7 + 3);
        ulong rsi = Start(Source, size, count, df), rdi = Start(Destination, size, count, df);
        m[GuestReg.Rsi] = rsi;
        m[GuestReg.Rdi] = rdi;
        m[GuestReg.Rcx] = (ulong)count;
        m.Df = df;
        m.Run();
        for (int i = 0; i < count * size; i++)
            Assert.True(m.Data[DestinationOffset + i] == (byte)(i * 7 + 3), $"byte {i}");
        Assert.Equal(0, m.Data[DestinationOffset - 1]);
        Assert.Equal(0, m.Data[DestinationOffset + count * size]);
        Assert.Equal(0UL, m[GuestReg.Rcx]);
        Assert.Equal(After(rsi, size, count, df), m[GuestReg.Rsi]);
        Assert.Equal(After(rdi, size, count, df), m[GuestReg.Rdi]);
        // each iteration is one execution of the one-instruction block
        Assert.Equal(Math.Max(count, 1), m.Runner.Retired);
    }

    [Theory]
    [MemberData(nameof(SizesCountsDirections))]
    public void RepStosFillsEveryElement(int size, int count, bool df)
    {
        const ulong pattern = 0x8877_6655_4433_2211;
        var m = new GuestMachine(a => Emit(a, "stos", size, rep: true));
        ulong rdi = Start(Destination, size, count, df);
        m[GuestReg.Rax] = pattern;
        m[GuestReg.Rdi] = rdi;
        m[GuestReg.Rcx] = (ulong)count;
        m.Df = df;
        m.Run();
        for (int i = 0; i < count; i++)
            Assert.Equal(pattern & Mask(size), m.ReadData(DestinationOffset + i * size, size));
        Assert.Equal(0, m.Data[DestinationOffset + count * size]);
        Assert.Equal(0, m.Data[DestinationOffset - 1]);
        Assert.Equal(0UL, m[GuestReg.Rcx]);
        Assert.Equal(After(rdi, size, count, df), m[GuestReg.Rdi]);
        Assert.Equal(pattern, m[GuestReg.Rax]);
    }

    [Theory]
    [MemberData(nameof(SizesCountsDirections))]
    public void RepLodsLeavesTheLastElementInTheAccumulator(int size, int count, bool df)
    {
        const ulong before = 0xdead_beef_cafe_f00d;
        var m = new GuestMachine(a => Emit(a, "lods", size, rep: true));
        for (int i = 0; i < count; i++) m.WriteData(SourceOffset + i * size, 0x0102_0304_0506_0708UL * (ulong)(i + 1), size);
        ulong rsi = Start(Source, size, count, df);
        m[GuestReg.Rax] = before;
        m[GuestReg.Rsi] = rsi;
        m[GuestReg.Rcx] = (ulong)count;
        m.Df = df;
        m.Run();
        ulong expected = before;
        if (count > 0)
        {
            int last = df ? 0 : count - 1;
            ulong element = m.ReadData(SourceOffset + last * size, size);
            expected = size switch
            {
                4 => element, // a 32-bit write zero-extends
                8 => element,
                _ => (before & ~Mask(size)) | element,
            };
        }
        Assert.Equal(expected, m[GuestReg.Rax]);
        Assert.Equal(After(rsi, size, count, df), m[GuestReg.Rsi]);
        Assert.Equal(0UL, m[GuestReg.Rcx]);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    public void RepeCmpsStopsAfterTheFirstDifference(int size)
    {
        const int count = 50, differsAt = 17;
        var m = new GuestMachine(a =>
        {
            switch (size)
            {
                case 1: a.repe.cmpsb(); break;
                case 2: a.repe.cmpsw(); break;
                case 4: a.repe.cmpsd(); break;
                default: a.repe.cmpsq(); break;
            }
        });
        for (int i = 0; i < count; i++)
        {
            m.WriteData(SourceOffset + i * size, (ulong)i + 0x40, size);
            m.WriteData(DestinationOffset + i * size, i == differsAt ? 0x10UL : (ulong)i + 0x40, size);
        }
        m[GuestReg.Rsi] = Source;
        m[GuestReg.Rdi] = Destination;
        m[GuestReg.Rcx] = count;
        m.Run();
        Assert.Equal((ulong)(count - differsAt - 1), m[GuestReg.Rcx]);
        Assert.Equal(Source + (ulong)((differsAt + 1) * size), m[GuestReg.Rsi]);
        Assert.Equal(Destination + (ulong)((differsAt + 1) * size), m[GuestReg.Rdi]);
        // [rsi] = 0x51 > [rdi] = 0x10: ZF and CF clear
        Assert.Equal(0UL, m.Rflags & (Drk.Hv.Cpu.Rflags.ZF | Drk.Hv.Cpu.Rflags.CF));
        Assert.Equal(differsAt + 1, m.Runner.Retired);
    }

    [Fact]
    public void RepeCmpsOverEqualBuffersRunsOutWithZfSet()
    {
        var m = new GuestMachine(a => a.repe.cmpsb());
        m[GuestReg.Rsi] = Source;
        m[GuestReg.Rdi] = Destination;
        m[GuestReg.Rcx] = 64;
        m.Run();
        Assert.Equal(0UL, m[GuestReg.Rcx]);
        Assert.NotEqual(0UL, m.Rflags & Drk.Hv.Cpu.Rflags.ZF);
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(4, true)]
    [InlineData(8, true)]
    public void RepneScasFindsTheAccumulator(int size, bool df)
    {
        const int count = 40, foundAt = 9;
        var m = new GuestMachine(a =>
        {
            switch (size)
            {
                case 1: a.repne.scasb(); break;
                case 2: a.repne.scasw(); break;
                case 4: a.repne.scasd(); break;
                default: a.repne.scasq(); break;
            }
        });
        for (int i = 0; i < count; i++) m.WriteData(DestinationOffset + i * size, 0x7f, size);
        int index = df ? count - 1 - foundAt : foundAt;
        m.WriteData(DestinationOffset + index * size, 0x33, size);
        ulong rdi = Start(Destination, size, count, df);
        m[GuestReg.Rax] = 0x33;
        m[GuestReg.Rdi] = rdi;
        m[GuestReg.Rcx] = count;
        m.Df = df;
        m.Run();
        Assert.Equal((ulong)(count - foundAt - 1), m[GuestReg.Rcx]);
        Assert.Equal(After(rdi, size, foundAt + 1, df), m[GuestReg.Rdi]);
        Assert.NotEqual(0UL, m.Rflags & Drk.Hv.Cpu.Rflags.ZF);
    }

    [Fact]
    public void RepneScasThatFindsNothingRunsOutWithZfClear()
    {
        var m = new GuestMachine(a => a.repne.scasb());
        m[GuestReg.Rax] = 0x99;
        m[GuestReg.Rdi] = Destination;
        m[GuestReg.Rcx] = 100;
        m.Run();
        Assert.Equal(0UL, m[GuestReg.Rcx]);
        Assert.Equal(Destination + 100, m[GuestReg.Rdi]);
        Assert.Equal(0UL, m.Rflags & Drk.Hv.Cpu.Rflags.ZF);
    }

    [Fact]
    public void AddressSizePrefixUsesAndZeroExtendsEcxAndEdi()
    {
        var m = new GuestMachine(a => a.db(0x67, 0xf3, 0xaa)); // rep stosb [edi]
        m[GuestReg.Rax] = 0x5a;
        m[GuestReg.Rdi] = 0xffff_ffff_0000_0000 | Destination;
        m[GuestReg.Rcx] = 0xffff_ffff_0000_0003;
        m.Run();
        Assert.Equal(0x5a5a5aUL, m.ReadData(DestinationOffset, 3));
        Assert.Equal(0, m.Data[DestinationOffset + 3]);
        Assert.Equal(0UL, m[GuestReg.Rcx]);
        Assert.Equal(Destination + 3, m[GuestReg.Rdi]);
    }

    [Fact]
    public void FsOverrideAppliesToTheSource()
    {
        var m = new GuestMachine(a => a.db(0x64, 0x48, 0xa5)); // movsq es:[rdi], fs:[rsi]
        m.WriteData(SourceOffset + 0x10, 0x1122_3344_5566_7788, 8);
        m.State.Slots[GuestReg.FsBase] = GuestMachine.DataBase;
        m[GuestReg.Rsi] = SourceOffset + 0x10;
        m[GuestReg.Rdi] = Destination;
        m.Run();
        Assert.Equal(0x1122_3344_5566_7788UL, m.ReadData(DestinationOffset, 8));
        Assert.Equal((ulong)SourceOffset + 0x18, m[GuestReg.Rsi]);
    }

    [Fact]
    public void FaultInTheMiddleLeavesThePartialProgress()
    {
        var m = new GuestMachine(a => a.rep.movsb());
        const int done = 5;
        ulong end = GuestMachine.DataBase + GuestMachine.DataSize;
        m[GuestReg.Rsi] = Source;
        m[GuestReg.Rdi] = end - done;
        m[GuestReg.Rcx] = 10;
        var status = m.RunUntilStop(out var fault);
        Assert.Equal(RunStatus.Exception, status);
        Assert.Equal(ExceptionVector.PageFault, fault.Vector);
        Assert.Equal(end, fault.Cr2);
        Assert.Equal(m.RipOf(0), fault.Rip);
        Assert.Equal(m.RipOf(0), m.State.Rip);
        Assert.Equal(10UL - done, m[GuestReg.Rcx]);
        Assert.Equal(Source + done, m[GuestReg.Rsi]);
        Assert.Equal(end, m[GuestReg.Rdi]);
    }

    [Fact]
    public void PlainStringInstructionsMoveOneElementAndContinue()
    {
        var m = new GuestMachine(a =>
        {
            a.movsb();
            a.stosw();
            a.lodsd();
        });
        m.WriteData(SourceOffset, 0xaa, 1);
        m.WriteData(SourceOffset + 1, 0x7766_5544, 4);
        m[GuestReg.Rsi] = Source;
        m[GuestReg.Rdi] = Destination;
        m[GuestReg.Rax] = 0xffff_ffff_ffff_0102;
        m[GuestReg.Rcx] = 1234;
        m.Run();
        Assert.Equal(0x0102_aaUL, m.ReadData(DestinationOffset, 3));
        Assert.Equal(0x7766_5544UL, m[GuestReg.Rax]);
        Assert.Equal(Source + 5, m[GuestReg.Rsi]);
        Assert.Equal(Destination + 3, m[GuestReg.Rdi]);
        Assert.Equal(1234UL, m[GuestReg.Rcx]);
    }

    private static ulong Mask(int size) => size == 8 ? ulong.MaxValue : (1UL << (8 * size)) - 1;
}
