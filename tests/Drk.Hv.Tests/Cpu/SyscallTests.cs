using Drk.Hv.Cpu;
using Drk.Hv.Tests.Support;
using static Drk.Hv.Tests.Support.LongModeFixture;

namespace Drk.Hv.Tests.Cpu;

public sealed class SyscallTests : IDisposable
{
    private const ulong Entry = 0x22_0000;
    private readonly LongModeFixture _m = new();

    public SyscallTests()
    {
        var sys = _m.State.Sys;
        sys.Star = (0x10UL << 48) | ((ulong)KernelCs << 32);
        sys.Lstar = Entry;
        sys.Fmask = Drk.Hv.Cpu.Rflags.IF | Drk.Hv.Cpu.Rflags.DF | Drk.Hv.Cpu.Rflags.TF;
    }

    public void Dispose() => _m.Dispose();

    [Fact]
    public void SyscallEntersRing0AtLstarAndSysretReturns()
    {
        _m.EnterUser(0x30_0000);
        _m.State.Slots[GuestReg.FlagsOther] = Drk.Hv.Cpu.Rflags.Reserved1 | Drk.Hv.Cpu.Rflags.IF | Drk.Hv.Cpu.Rflags.DF;
        _m.State.Slots[GuestReg.CcDep1] = Drk.Hv.Cpu.Rflags.ZF;
        Assert.Equal(SystemOutcome.Jump, _m.Exec(SystemOp.Syscall, 0x30_0002));
        Assert.Equal(Entry, _m.State.Rip);
        Assert.Equal(0, _m.State.Cpl);
        Assert.Equal(KernelCs, _m.State.Sys.Cs);
        Assert.Equal(KernelSs, _m.State.Sys.Ss);
        Assert.Equal(0x30_0002UL, _m.State.Slots[GuestReg.Rcx]);
        Assert.Equal(Drk.Hv.Cpu.Rflags.Reserved1 | Drk.Hv.Cpu.Rflags.IF | Drk.Hv.Cpu.Rflags.DF | Drk.Hv.Cpu.Rflags.ZF, _m.State.Slots[GuestReg.R11]);
        Assert.Equal(Drk.Hv.Cpu.Rflags.Reserved1, _m.State.Slots[GuestReg.FlagsOther]);
        Assert.Equal(Drk.Hv.Cpu.Rflags.ZF, _m.State.Slots[GuestReg.CcDep1]);
        Assert.Equal(UserStack, _m.State.Slots[GuestReg.Rsp]); // SYSCALL leaves RSP alone

        _m.State.Slots[GuestReg.R11] |= Drk.Hv.Cpu.Rflags.RF | Drk.Hv.Cpu.Rflags.VM;
        Assert.Equal(SystemOutcome.Jump, _m.Exec(SystemOp.Sysretq));
        Assert.Equal(0x30_0002UL, _m.State.Rip);
        Assert.Equal(3, _m.State.Cpl);
        Assert.Equal(UserCs, _m.State.Sys.Cs);
        Assert.Equal(UserSs, _m.State.Sys.Ss);
        Assert.Equal(Drk.Hv.Cpu.Rflags.Reserved1 | Drk.Hv.Cpu.Rflags.IF | Drk.Hv.Cpu.Rflags.DF, _m.State.Slots[GuestReg.FlagsOther]);
    }

    [Fact]
    public void SyscallWithoutEferSceIsInvalid()
    {
        _m.State.Sys.Efer &= ~ControlBits.EferSCE;
        Assert.Equal(SystemOutcome.Fault, _m.Exec(SystemOp.Syscall, 0x1000, 0, out _, out var fault));
        Assert.Equal(ExceptionVector.InvalidOpcode, fault.Vector);
    }

    [Fact]
    public void SysretFromUserModeIsAGeneralProtectionFault()
    {
        _m.EnterUser();
        Assert.Equal(SystemOutcome.Fault, _m.Exec(SystemOp.Sysretq, 0, 0, out _, out var fault));
        Assert.Equal(ExceptionVector.GeneralProtection, fault.Vector);
        Assert.Equal(_m.State.Rip, fault.Rip);
    }

    [Fact]
    public void SysretToANonCanonicalAddressFaultsInRing0()
    {
        _m.State.Slots[GuestReg.Rcx] = 0x8000_0000_0000;
        Assert.Equal(SystemOutcome.Fault, _m.Exec(SystemOp.Sysretq, 0, 0, out _, out var fault));
        Assert.Equal(ExceptionVector.GeneralProtection, fault.Vector);
        Assert.Equal(0, _m.State.Cpl);
    }

    [Fact]
    public void SwapgsExchangesTheGsBases()
    {
        _m.State.Slots[GuestReg.GsBase] = 0x1111;
        _m.State.Sys.KernelGsBase = 0x2222;
        Assert.Equal(SystemOutcome.Continue, _m.Exec(SystemOp.Swapgs));
        Assert.Equal(0x2222UL, _m.State.Slots[GuestReg.GsBase]);
        Assert.Equal(0x1111UL, _m.State.Sys.KernelGsBase);
    }
}
