using Drk.Dispatcher.Execution;
using Drk.Hv.Cpu;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Drk.Dispatcher.Tests.Lowering;

/// <summary>Branches, loops, indirect jumps and software interrupts executed through decode, lower and interpret.</summary>
public sealed class ControlFlowExecutionTests
{
    [Fact]
    public void LoopCountsDownAndJccBranches()
    {
        var m = new GuestMachine(a =>
        {
            var top = a.CreateLabel();
            var skip = a.CreateLabel();
            a.Label(ref top);
            a.add(rax, 3);
            a.loop(top);
            a.cmp(rax, 30);
            a.jne(skip);
            a.mov(rbx, 1);
            a.Label(ref skip);
            a.nop();
        });
        m[GuestReg.Rcx] = 10;
        m.Run();
        Assert.Equal(30UL, m[GuestReg.Rax]);
        Assert.Equal(0UL, m[GuestReg.Rcx]);
        Assert.Equal(1UL, m[GuestReg.Rbx]);
    }

    [Fact]
    public void LoopneStopsOnEquality()
    {
        var m = new GuestMachine(a =>
        {
            var top = a.CreateLabel();
            a.Label(ref top);
            a.inc(rax);
            a.cmp(rax, 4);
            a.loopne(top);
        });
        m[GuestReg.Rcx] = 100;
        m.Run();
        Assert.Equal(4UL, m[GuestReg.Rax]);
        Assert.Equal(96UL, m[GuestReg.Rcx]);
    }

    [Fact]
    public void LoopWithAddressSizePrefixUsesEcx()
    {
        var m = new GuestMachine(a =>
        {
            a.inc(rax);
            a.db(0x67, 0xe2, 0xfa); // loopd back to the inc (3 + 3 bytes)
        });
        m[GuestReg.Rcx] = 0x1_0000_0003;
        m.Run();
        Assert.Equal(3UL, m[GuestReg.Rax]);
        Assert.Equal(0UL, m[GuestReg.Rcx]);
    }

    [Theory]
    [InlineData(0UL, true)]
    [InlineData(0x1_0000_0000UL, false)]
    public void JrcxzTestsAllOfRcx(ulong rcx, bool jumps)
    {
        var m = new GuestMachine(a =>
        {
            var taken = a.CreateLabel();
            a.jrcxz(taken);
            a.mov(rax, 1);
            a.Label(ref taken);
            a.nop();
        });
        m[GuestReg.Rcx] = rcx;
        m.Run();
        Assert.Equal(jumps ? 0UL : 1UL, m[GuestReg.Rax]);
    }

    [Fact]
    public void JecxzTestsOnlyEcx()
    {
        var m = new GuestMachine(a =>
        {
            a.db(0x67, 0xe3, 0x05); // jecxz +5 over the mov
            a.mov(eax, 1);
            a.nop();
        });
        m[GuestReg.Rcx] = 0x1_0000_0000;
        m.Run();
        Assert.Equal(0UL, m[GuestReg.Rax]);
    }

    [Fact]
    public void IndirectJumpsThroughRegisterAndMemory()
    {
        var m = new GuestMachine(a =>
        {
            var second = a.CreateLabel();
            var end = a.CreateLabel();
            a.jmp(rbx);
            a.mov(rax, 1);
            a.Label(ref second);
            a.jmp(__qword_ptr[rdi]);
            a.mov(rax, 2);
            a.Label(ref end);
            a.nop();
        });
        m[GuestReg.Rbx] = m.RipOf(2);
        m[GuestReg.Rdi] = GuestMachine.DataBase;
        m.WriteData(0, m.RipOf(4), 8);
        m.Run();
        Assert.Equal(0UL, m[GuestReg.Rax]);
    }

    [Theory]
    [InlineData(new byte[] { 0xcc }, 3)]
    [InlineData(new byte[] { 0xcd, 0x80 }, 0x80)]
    public void SoftwareInterruptsReportVectorAndReturnAddress(byte[] code, int vector)
    {
        var m = new GuestMachine(a => a.db(code));
        var status = m.RunUntilStop(out var fault);
        Assert.Equal(RunStatus.Exception, status);
        Assert.Equal((ExceptionVector)vector, fault.Vector);
        Assert.Equal(LoweringTestKit.CodeBase + (ulong)code.Length, fault.Rip);
    }

    [Fact]
    public void Ud2RaisesInvalidOpcodeAtItsRip()
    {
        var m = new GuestMachine(a =>
        {
            a.mov(rax, 1);
            a.ud2();
        });
        var status = m.RunUntilStop(out var fault);
        Assert.Equal(RunStatus.Exception, status);
        Assert.Equal(ExceptionVector.InvalidOpcode, fault.Vector);
        Assert.Equal(m.RipOf(1), fault.Rip);
        Assert.Equal(1UL, m[GuestReg.Rax]);
    }
}
