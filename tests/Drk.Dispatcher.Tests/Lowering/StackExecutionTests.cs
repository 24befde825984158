using Drk.Dispatcher.Execution;
using Drk.Dispatcher.Flags;
using Drk.Hv.Cpu;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Drk.Dispatcher.Tests.Lowering;

/// <summary>PUSH, POP, CALL, RET, ENTER, LEAVE, PUSHF and POPF executed through decode, lower and interpret.</summary>
public sealed class StackExecutionTests
{
    private const ulong Sp = GuestMachine.StackTop - 0x100;

    [Fact]
    public void PushAndPopRoundTrip()
    {
        var m = new GuestMachine(a =>
        {
            a.push(rbx);
            a.push(0x12345678);
            a.push(-2); // imm8, sign-extended to 64 bits
            a.pop(rcx);
            a.pop(rdx);
            a.pop(r12);
        });
        m[GuestReg.Rbx] = 0x1111_2222_3333_4444;
        m.Run();
        Assert.Equal(0xffff_ffff_ffff_fffeUL, m[GuestReg.Rcx]);
        Assert.Equal(0x12345678UL, m[GuestReg.Rdx]);
        Assert.Equal(0x1111_2222_3333_4444UL, m[GuestReg.R12]);
        Assert.Equal(Sp, m[GuestReg.Rsp]);
    }

    [Fact]
    public void PushRspPushesTheOldValueAndPopRspLoadsThePoppedValue()
    {
        var m = new GuestMachine(a =>
        {
            a.push(rsp);
            a.pop(rax);
            a.push(0x4000);
            a.pop(rsp);
        });
        m.Run();
        Assert.Equal(Sp, m[GuestReg.Rax]);
        Assert.Equal(0x4000UL, m[GuestReg.Rsp]);
    }

    [Fact]
    public void PopToMemoryUsesTheIncrementedRsp()
    {
        var m = new GuestMachine(a => a.pop(__qword_ptr[rsp + 8]));
        m.WriteStack(Sp, 0xabcdef, 8);
        m.Run();
        Assert.Equal(Sp + 8, m[GuestReg.Rsp]);
        Assert.Equal(0xabcdefUL, m.ReadStack(Sp + 16, 8));
        Assert.Equal(0UL, m.ReadStack(Sp + 8, 8));
    }

    [Fact]
    public void PushFromMemoryAddressesWithTheOldRsp()
    {
        var m = new GuestMachine(a => a.push(__qword_ptr[rsp + 8]));
        m.WriteStack(Sp + 8, 0x55aa, 8);
        m.Run();
        Assert.Equal(Sp - 8, m[GuestReg.Rsp]);
        Assert.Equal(0x55aaUL, m.ReadStack(Sp - 8, 8));
    }

    [Fact]
    public void SixteenBitPushAndPopMoveTwoBytesAndMerge()
    {
        var m = new GuestMachine(a =>
        {
            a.push(bx);
            a.pop(cx);
        });
        m[GuestReg.Rbx] = 0x1234_5678_9abc_def0;
        m[GuestReg.Rcx] = 0xffff_ffff_ffff_ffff;
        m.Run();
        Assert.Equal(0xdef0UL, m.ReadStack(Sp - 2, 2));
        Assert.Equal(0xffff_ffff_ffff_def0UL, m[GuestReg.Rcx]);
        Assert.Equal(Sp, m[GuestReg.Rsp]);
    }

    [Fact]
    public void PushToAnUnmappedPageFaultsAndKeepsRsp()
    {
        var m = new GuestMachine(a =>
        {
            a.mov(rax, 1);
            a.push(rax);
        });
        m[GuestReg.Rsp] = GuestMachine.StackBase; // the page below is not mapped
        var before = m.Snapshot();
        var status = m.RunUntilStop(out var fault);
        Assert.Equal(RunStatus.Exception, status);
        Assert.Equal(ExceptionVector.PageFault, fault.Vector);
        Assert.Equal(GuestMachine.StackBase - 8, fault.Cr2);
        Assert.Equal(m.RipOf(1), fault.Rip);
        Assert.Equal(GuestMachine.StackBase, m[GuestReg.Rsp]);
        Assert.Equal(1UL, m[GuestReg.Rax]); // the MOV before it retired
        before[GuestReg.Rax] = 1;
        before[GuestReg.Rip] = m.RipOf(1);
        for (int slot = 0; slot < GuestReg.Count; slot++)
            if (slot is < GuestReg.CcOp or > GuestReg.CcNdep)
                Assert.True(before[slot] == m.State.Slots[slot], $"slot {GuestReg.Name(slot)}");
    }

    [Fact]
    public void CallAndRetReturnToTheNextInstruction()
    {
        var m = new GuestMachine(a =>
        {
            var function = a.CreateLabel();
            var done = a.CreateLabel();
            a.call(function);
            a.add(rax, 0x10);
            a.jmp(done);
            a.Label(ref function);
            a.mov(rax, __qword_ptr[rsp]); // the return address
            a.ret();
            a.Label(ref done);
            a.nop();
        });
        m.Run();
        Assert.Equal(m.RipOf(1) + 0x10, m[GuestReg.Rax]);
        Assert.Equal(Sp, m[GuestReg.Rsp]);
    }

    [Fact]
    public void IndirectCallThroughMemoryAndRetWithImmediate()
    {
        var m = new GuestMachine(a =>
        {
            var function = a.CreateLabel();
            var done = a.CreateLabel();
            a.push(0x11);
            a.push(0x22);
            a.call(__qword_ptr[rbx]);
            a.jmp(done);
            a.Label(ref function);
            a.mov(rcx, __qword_ptr[rsp + 8]);
            a.ret(16);
            a.Label(ref done);
            a.nop();
        });
        // the function's address: 2 + 2 + 2 (pushes, call [rbx]) + 2 (jmp short)
        ulong functionRip = m.RipOf(4);
        m[GuestReg.Rbx] = GuestMachine.DataBase;
        m.WriteData(0, functionRip, 8);
        m.Run();
        Assert.Equal(0x22UL, m[GuestReg.Rcx]);
        Assert.Equal(Sp, m[GuestReg.Rsp]);
    }

    [Fact]
    public void CallThroughAFaultingPointerChangesNothing()
    {
        var m = new GuestMachine(a => a.call(__qword_ptr[rbx]));
        m[GuestReg.Rbx] = 0x1000; // unmapped
        var status = m.RunUntilStop(out var fault);
        Assert.Equal(RunStatus.Exception, status);
        Assert.Equal(ExceptionVector.PageFault, fault.Vector);
        Assert.Equal(Sp, m[GuestReg.Rsp]);
        Assert.Equal(0UL, m.ReadStack(Sp - 8, 8));
    }

    [Fact]
    public void EnterAndLeaveBuildAndTearDownAFrame()
    {
        var m = new GuestMachine(a =>
        {
            a.enter(0x20, 0);
            a.mov(rax, rbp);
            a.mov(rcx, rsp);
            a.leave();
        });
        m[GuestReg.Rbp] = 0xb0b0;
        m.Run();
        Assert.Equal(Sp - 8, m[GuestReg.Rax]);
        Assert.Equal(Sp - 8 - 0x20, m[GuestReg.Rcx]);
        Assert.Equal(0xb0b0UL, m.ReadStack(Sp - 8, 8));
        Assert.Equal(0xb0b0UL, m[GuestReg.Rbp]);
        Assert.Equal(Sp, m[GuestReg.Rsp]);
    }

    [Fact]
    public void EnterWithNestingLevelCopiesTheDisplay()
    {
        var m = new GuestMachine(a => a.enter(0x10, 3));
        ulong oldFrame = Sp + 0x40;
        m[GuestReg.Rbp] = oldFrame;
        m.WriteStack(oldFrame - 8, 0x1111, 8);
        m.WriteStack(oldFrame - 16, 0x2222, 8);
        m.Run();
        ulong frame = Sp - 8;
        Assert.Equal(oldFrame, m.ReadStack(frame, 8));
        Assert.Equal(0x1111UL, m.ReadStack(frame - 8, 8));
        Assert.Equal(0x2222UL, m.ReadStack(frame - 16, 8));
        Assert.Equal(frame, m.ReadStack(frame - 24, 8));
        Assert.Equal(frame, m[GuestReg.Rbp]);
        Assert.Equal(frame - 24 - 0x10, m[GuestReg.Rsp]);
    }

    [Fact]
    public void PushfqStoresArithmeticAndOtherFlagsWithBit1()
    {
        var m = new GuestMachine(a =>
        {
            a.stc();
            a.pushfq();
            a.pop(rax);
        });
        m.Rflags = Drk.Hv.Cpu.Rflags.DF | Drk.Hv.Cpu.Rflags.IF | Drk.Hv.Cpu.Rflags.ZF;
        m.Run();
        Assert.Equal(Drk.Hv.Cpu.Rflags.DF | Drk.Hv.Cpu.Rflags.IF | Drk.Hv.Cpu.Rflags.ZF | Drk.Hv.Cpu.Rflags.CF | Drk.Hv.Cpu.Rflags.Reserved1, m[GuestReg.Rax]);
    }

    [Fact]
    public void PopfAtCpl0SetsArithmeticFlagsDirectionAndInterruptFlag()
    {
        var m = new GuestMachine(a => a.popfq());
        m.WriteStack(Sp, Drk.Hv.Cpu.Rflags.CF | Drk.Hv.Cpu.Rflags.OF | Drk.Hv.Cpu.Rflags.DF | Drk.Hv.Cpu.Rflags.IF | Drk.Hv.Cpu.Rflags.AC | Drk.Hv.Cpu.Rflags.RF | Drk.Hv.Cpu.Rflags.VM, 8);
        m.Run();
        Assert.Equal(Drk.Hv.Cpu.Rflags.CF | Drk.Hv.Cpu.Rflags.OF | Drk.Hv.Cpu.Rflags.DF | Drk.Hv.Cpu.Rflags.IF | Drk.Hv.Cpu.Rflags.AC | Drk.Hv.Cpu.Rflags.Reserved1, m.Rflags);
        Assert.Equal(Sp + 8, m[GuestReg.Rsp]);
    }

    [Theory]
    [InlineData(0UL, false)] // IOPL 0 < CPL 3: IF is kept
    [InlineData(3UL, true)] // IOPL 3: IF follows the popped value
    public void PopfAtCpl3ChangesIfOnlyWhenIoplAllows(ulong iopl, bool ifChanges)
    {
        var m = new GuestMachine(a => a.popfq());
        m.Rflags = Drk.Hv.Cpu.Rflags.IF | (iopl << 12);
        m.WriteStack(Sp, Drk.Hv.Cpu.Rflags.ZF | Drk.Hv.Cpu.Rflags.DF, 8); // IF = 0, IOPL = 0 in the popped value
        var result = m.ExecuteOneBlock(cpl: 3);
        Assert.Equal(BlockEnd.Exit, result.End);
        ulong expected = Drk.Hv.Cpu.Rflags.ZF | Drk.Hv.Cpu.Rflags.DF | Drk.Hv.Cpu.Rflags.Reserved1 | (iopl << 12) | (ifChanges ? 0 : Drk.Hv.Cpu.Rflags.IF);
        Assert.Equal(expected, m.Rflags);
    }

    [Fact]
    public void Popf16ChangesOnlyTheLowWord()
    {
        var m = new GuestMachine(a => a.popf());
        m.Rflags = Drk.Hv.Cpu.Rflags.AC | Drk.Hv.Cpu.Rflags.IF;
        m.WriteStack(Sp, Drk.Hv.Cpu.Rflags.SF | Drk.Hv.Cpu.Rflags.DF, 2);
        m.Run();
        Assert.Equal(Drk.Hv.Cpu.Rflags.AC | Drk.Hv.Cpu.Rflags.SF | Drk.Hv.Cpu.Rflags.DF | Drk.Hv.Cpu.Rflags.Reserved1, m.Rflags);
        Assert.Equal(Sp + 2, m[GuestReg.Rsp]);
    }
}
