using Drk.Dispatcher.Execution;
using Drk.Hv.Cpu;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Drk.Dispatcher.Tests.Lowering;

/// <summary>System instructions reach the hypervisor's helper with the documented operands, and their results land where the architecture puts them.</summary>
public sealed class SystemExecutionTests
{
    private static RecordingSystemInstructions.Call Single(GuestMachine m, SystemOp op)
    {
        var calls = m.System.Calls.FindAll(c => c.Op == op);
        return Assert.Single(calls);
    }

    [Fact]
    public void MovToAndFromControlRegisters()
    {
        var m = new GuestMachine(a =>
        {
            a.mov(cr3, rax);
            a.mov(rdx, cr0);
            a.mov(cr8, rcx);
        });
        m[GuestReg.Rax] = 0x1000_0000;
        m[GuestReg.Rcx] = 0xf;
        m.Run();
        Assert.Equal(new RecordingSystemInstructions.Call(SystemOp.WriteCr, 3, 0x1000_0000, m.RipOf(0)), m.System.Calls[0]);
        Assert.Equal(new RecordingSystemInstructions.Call(SystemOp.ReadCr, 0, 0, m.RipOf(1)), m.System.Calls[1]);
        Assert.Equal(new RecordingSystemInstructions.Call(SystemOp.WriteCr, 8, 0xf, m.RipOf(2)), m.System.Calls[2]);
        Assert.Equal(m.System.Result, m[GuestReg.Rdx]);
    }

    [Fact]
    public void CpuidRdtscAndRdmsrResultsComeFromTheHelper()
    {
        var m = new GuestMachine(a =>
        {
            a.cpuid();
            a.mov(r8, rbx);
            a.rdtsc();
            a.mov(r9, rax);
            a.rdmsr();
        });
        m.Run();
        Assert.Equal(0x22UL, m[GuestReg.R8]);
        Assert.Equal(0x89ab_cdefUL, m[GuestReg.R9]);
        Assert.Equal(3, m.System.Calls.Count);
    }

    [Fact]
    public void InMergesIntoAlAndAxAndZeroExtendsEax()
    {
        var m = new GuestMachine(a =>
        {
            a.@in(al, 0x60);
            a.mov(rbx, rax);
            a.@in(ax, dx);
            a.mov(rcx, rax);
            a.@in(eax, dx);
        });
        m[GuestReg.Rax] = 0xffff_ffff_ffff_ffff;
        m[GuestReg.Rdx] = 0xaaaa_0000_0000_03f8;
        m.System.Result = 0x1234_5678_9abc_def0;
        m.Run();
        Assert.Equal(0xffff_ffff_ffff_fff0UL, m[GuestReg.Rbx]);
        Assert.Equal(0xffff_ffff_ffff_def0UL, m[GuestReg.Rcx]);
        Assert.Equal(0x9abc_def0UL, m[GuestReg.Rax]);
        Assert.Equal(new RecordingSystemInstructions.Call(SystemOp.In, 0x60, 1, m.RipOf(0)), m.System.Calls[0]);
        Assert.Equal(new RecordingSystemInstructions.Call(SystemOp.In, 0x3f8, 2, m.RipOf(2)), m.System.Calls[1]);
        Assert.Equal(new RecordingSystemInstructions.Call(SystemOp.In, 0x3f8, 4, m.RipOf(4)), m.System.Calls[2]);
    }

    [Fact]
    public void OutPassesPortAndSize()
    {
        var m = new GuestMachine(a =>
        {
            a.@out(0x80, al);
            a.@out(dx, ax);
            a.@out(dx, eax);
        });
        m[GuestReg.Rdx] = 0x3f8;
        m.Run();
        Assert.Equal(new RecordingSystemInstructions.Call(SystemOp.Out, 0x80, 1, m.RipOf(0)), m.System.Calls[0]);
        Assert.Equal(new RecordingSystemInstructions.Call(SystemOp.Out, 0x3f8, 2, m.RipOf(1)), m.System.Calls[1]);
        Assert.Equal(new RecordingSystemInstructions.Call(SystemOp.Out, 0x3f8, 4, m.RipOf(2)), m.System.Calls[2]);
    }

    [Fact]
    public void DescriptorTablesGetLinearAddresses()
    {
        var m = new GuestMachine(a =>
        {
            a.lgdt(__[rdi + 8]);
            a.lidt(__[rdi]);
            a.sgdt(__[rsi]);
            a.sidt(__[rsi + 0x10]);
            a.invlpg(__byte_ptr[rsi]);
            a.clflush(__byte_ptr[rdi]);
        });
        m[GuestReg.Rdi] = GuestMachine.DataBase;
        m[GuestReg.Rsi] = GuestMachine.DataBase + 0x100;
        m.Run();
        ulong d = GuestMachine.DataBase;
        Assert.Equal(d + 8, Single(m, SystemOp.Lgdt).A);
        Assert.Equal(d, Single(m, SystemOp.Lidt).A);
        Assert.Equal(d + 0x100, Single(m, SystemOp.Sgdt).A);
        Assert.Equal(d + 0x110, Single(m, SystemOp.Sidt).A);
        Assert.Equal(d + 0x100, Single(m, SystemOp.Invlpg).A);
        Assert.Equal(d, Single(m, SystemOp.Clflush).A);
    }

    [Fact]
    public void TaskRegisterAndSegmentSelectors()
    {
        var m = new GuestMachine(a =>
        {
            a.ltr(ax);
            a.str(__word_ptr[rdi]);
            a.str(ecx);
            a.mov(ds, dx);
            a.mov(fs, __word_ptr[rdi + 2]);
            a.mov(rbx, ss);
        });
        m[GuestReg.Rax] = 0xffff_0028;
        m[GuestReg.Rdx] = 0x10;
        m[GuestReg.Rdi] = GuestMachine.DataBase;
        m[GuestReg.Rcx] = ulong.MaxValue;
        m.WriteData(2, 0x33, 2);
        m.System.Result = 0xabcd_0040;
        m.Run();
        Assert.Equal(0x28UL, Single(m, SystemOp.Ltr).A);
        Assert.Equal(0x0040UL, m.ReadData(0, 2));
        Assert.Equal(0x0040UL, m[GuestReg.Rcx]);
        var writes = m.System.Calls.FindAll(c => c.Op == SystemOp.WriteSegment);
        Assert.Equal((3UL, 0x10UL), (writes[0].A, writes[0].B));
        Assert.Equal((4UL, 0x33UL), (writes[1].A, writes[1].B));
        Assert.Equal(2UL, Single(m, SystemOp.ReadSegment).A);
        Assert.Equal(0x0040UL, m[GuestReg.Rbx]);
    }

    [Fact]
    public void SegmentBases()
    {
        var m = new GuestMachine(a =>
        {
            a.rdfsbase(rax);
            a.rdgsbase(ecx);
            a.wrfsbase(rdx);
            a.wrgsbase(esi);
            a.swapgs();
        });
        m[GuestReg.Rdx] = 0x7fff_0000_1000;
        m[GuestReg.Rsi] = 0xffff_ffff_0000_2000;
        m[GuestReg.Rcx] = ulong.MaxValue;
        m.Run();
        Assert.Equal(m.System.Result, m[GuestReg.Rax]);
        Assert.Equal(m.System.Result & 0xffff_ffff, m[GuestReg.Rcx]);
        var writes = m.System.Calls.FindAll(c => c.Op == SystemOp.WriteSegBase);
        Assert.Equal((0UL, 0x7fff_0000_1000UL), (writes[0].A, writes[0].B));
        Assert.Equal((1UL, 0x2000UL), (writes[1].A, writes[1].B));
        Assert.Single(m.System.Calls.FindAll(c => c.Op == SystemOp.Swapgs));
    }

    [Fact]
    public void SyscallPassesTheReturnAddressAndGoesWhereTheHelperSays()
    {
        var m = new GuestMachine(a =>
        {
            var target = a.CreateLabel();
            var end = a.CreateLabel();
            a.syscall();
            a.mov(rax, 1);
            a.jmp(end);
            a.Label(ref target);
            a.mov(rax, 2);
            a.Label(ref end);
            a.nop();
        });
        m.System.JumpTarget = m.RipOf(3);
        m.Run();
        Assert.Equal(2UL, m[GuestReg.Rax]);
        Assert.Equal(m.RipOf(1), Single(m, SystemOp.Syscall).A);
    }

    [Fact]
    public void IretqGoesWhereTheHelperSays()
    {
        var m = new GuestMachine(a =>
        {
            a.iretq();
            a.mov(rax, 1);
            a.nop();
        });
        m.System.JumpTarget = m.RipOf(2);
        m.Run();
        Assert.Equal(0UL, m[GuestReg.Rax]);
    }

    [Fact]
    public void HltHaltsPastTheInstruction()
    {
        var m = new GuestMachine(a =>
        {
            a.cli();
            a.hlt();
            a.nop();
        });
        var status = m.RunUntilStop(out _);
        Assert.Equal(RunStatus.Halted, status);
        Assert.Equal(m.RipOf(2), m.State.Rip);
        Assert.Equal(SystemOp.Cli, m.System.Calls[0].Op);
    }

    [Fact]
    public void OutCanStopTheMachine()
    {
        var m = new GuestMachine(a =>
        {
            a.@out(0xf4, al);
            a.nop();
        });
        m.System.StopOn = SystemOp.Out;
        var status = m.RunUntilStop(out _);
        Assert.Equal(RunStatus.MachineStop, status);
        Assert.Equal(m.RipOf(1), m.State.Rip);
    }

    [Fact]
    public void AFaultingSystemInstructionLeavesTheStateAsBefore()
    {
        var m = new GuestMachine(a => a.pop(fs));
        m.System.FaultWith = GuestFault.GeneralProtection(0x18);
        m.WriteStack(GuestMachine.StackTop - 0x100, 0x18, 8);
        ulong rsp = m[GuestReg.Rsp];
        var status = m.RunUntilStop(out var fault);
        Assert.Equal(RunStatus.Exception, status);
        Assert.Equal(ExceptionVector.GeneralProtection, fault.Vector);
        Assert.Equal(rsp, m[GuestReg.Rsp]);
        Assert.Equal((4UL, 0x18UL), (m.System.Calls[0].A, m.System.Calls[0].B));
    }

    [Fact]
    public void WithoutAHypervisorSystemInstructionsRaiseInvalidOpcode()
    {
        var m = new GuestMachine(a => a.wrmsr(), withSystem: false);
        var status = m.RunUntilStop(out var fault);
        Assert.Equal(RunStatus.Exception, status);
        Assert.Equal(ExceptionVector.InvalidOpcode, fault.Vector);
    }
}
