using Drk.Hv.Cpu;
using Drk.Hv.Tests.Support;
using static Drk.Hv.Tests.Support.LongModeFixture;

namespace Drk.Hv.Tests.Cpu;

public sealed class InterruptDeliveryTests : IDisposable
{
    private const ulong Handler = 0x21_0000;
    private readonly LongModeFixture _m = new();

    public void Dispose() => _m.Dispose();

    private ulong Stack(int slot) => _m.Read64(_m.State.Slots[GuestReg.Rsp] + (ulong)(8 * slot));

    [Fact]
    public void AnInterruptAtTheSamePrivilegePushesTheFiveWordFrameOnAnAlignedStack()
    {
        _m.SetGate(0x40, Handler);
        _m.State.Slots[GuestReg.Rsp] = KernelStack - 8; // misaligned: delivery aligns to 16
        _m.State.Slots[GuestReg.CcDep1] = Drk.Hv.Cpu.Rflags.ZF | Drk.Hv.Cpu.Rflags.CF;
        ulong rip = _m.State.Rip;
        Assert.Equal(DeliveryOutcome.Delivered, _m.Delivery.DeliverExternalInterrupt(_m.State, _m.Mmu, 0x40));
        Assert.Equal(Handler, _m.State.Rip);
        Assert.Equal(KernelStack - 16 - 40, _m.State.Slots[GuestReg.Rsp]);
        Assert.Equal(rip, Stack(0));
        Assert.Equal(KernelCs, Stack(1));
        Assert.Equal(Drk.Hv.Cpu.Rflags.Reserved1 | Drk.Hv.Cpu.Rflags.IF | Drk.Hv.Cpu.Rflags.ZF | Drk.Hv.Cpu.Rflags.CF, Stack(2));
        Assert.Equal(KernelStack - 8, Stack(3));
        Assert.Equal(KernelSs, Stack(4));
        Assert.Equal(0UL, _m.State.Slots[GuestReg.FlagsOther] & Drk.Hv.Cpu.Rflags.IF); // interrupt gate
        Assert.Equal(0, _m.State.Cpl);
    }

    [Fact]
    public void ATrapGateLeavesInterruptsEnabled()
    {
        _m.SetGate(0x41, Handler, GateDescriptor.TrapGate);
        _m.Delivery.DeliverExternalInterrupt(_m.State, _m.Mmu, 0x41);
        Assert.NotEqual(0UL, _m.State.Slots[GuestReg.FlagsOther] & Drk.Hv.Cpu.Rflags.IF);
    }

    [Fact]
    public void AnExceptionWithAnErrorCodePushesIt()
    {
        _m.SetGate(13, Handler);
        var fault = GuestFault.GeneralProtection(0x28);
        Assert.Equal(DeliveryOutcome.Delivered, _m.Delivery.DeliverException(_m.State, _m.Mmu, fault));
        Assert.Equal(0x28UL, Stack(0));
        Assert.Equal(0x20_0000UL, Stack(1));
        Assert.Equal(KernelStack - 48, _m.State.Slots[GuestReg.Rsp]);
    }

    [Fact]
    public void APageFaultSetsCr2()
    {
        _m.SetGate(14, Handler);
        _m.Delivery.DeliverException(_m.State, _m.Mmu, GuestFault.PageFault(0xDEAD_B000, 6));
        Assert.Equal(0xDEAD_B000UL, _m.State.Sys.Cr2);
        Assert.Equal(6UL, Stack(0));
    }

    [Fact]
    public void FromUserModeTheStackSwitchesToRsp0AndSsBecomesNull()
    {
        _m.SetGate(0x40, Handler);
        _m.EnterUser(0x30_1234);
        ulong userRsp = _m.State.Slots[GuestReg.Rsp] - 0x18;
        _m.State.Slots[GuestReg.Rsp] = userRsp;
        Assert.Equal(DeliveryOutcome.Delivered, _m.Delivery.DeliverExternalInterrupt(_m.State, _m.Mmu, 0x40));
        Assert.Equal(Rsp0 - 40, _m.State.Slots[GuestReg.Rsp]);
        Assert.Equal(0x30_1234UL, Stack(0));
        Assert.Equal(UserCs, Stack(1));
        Assert.Equal(userRsp, Stack(3));
        Assert.Equal(UserSs, Stack(4));
        Assert.Equal(0, _m.State.Cpl);
        Assert.Equal(KernelCs, _m.State.Sys.Cs);
        Assert.Equal(0, _m.State.Sys.Ss);
    }

    [Fact]
    public void AnIstGateSwitchesStacksEvenWithoutAPrivilegeChange()
    {
        _m.SetGate(2, Handler, ist: 1);
        Assert.Equal(DeliveryOutcome.Delivered, _m.Delivery.DeliverNmi(_m.State, _m.Mmu));
        Assert.Equal(Ist1 - 40, _m.State.Slots[GuestReg.Rsp]);
        Assert.Equal(KernelStack, Stack(3));
        Assert.True(_m.State.Sys.NmiBlocked);
    }

    [Fact]
    public void SoftwareInterruptsCheckTheGateDplAndReturnAfterTheInstruction()
    {
        _m.SetGate(0x80, Handler, dpl: 3);
        _m.SetGate(0x81, Handler, dpl: 0);
        _m.SetGate(13, Handler + 0x100);
        _m.EnterUser(0x30_0000);
        Assert.Equal(DeliveryOutcome.Delivered, _m.Delivery.DeliverSoftwareInterrupt(_m.State, _m.Mmu, 0x80, 0x30_0002));
        Assert.Equal(Handler, _m.State.Rip);
        Assert.Equal(0x30_0002UL, Stack(0));

        _m.EnterUser(0x30_0000);
        Assert.Equal(DeliveryOutcome.Delivered, _m.Delivery.Deliver(_m.State, _m.Mmu,
            new InterruptEvent { Kind = InterruptKind.SoftwareInterrupt, Vector = 0x81 }, 0x30_0002, out var delivered));
        Assert.Equal((byte)13, delivered.Vector);
        Assert.Equal(Handler + 0x100, _m.State.Rip);
        Assert.Equal(0x81UL * 8 + 2, Stack(0)); // #GP(IDT index), EXT = 0
        Assert.Equal(0x30_0000UL, Stack(1));      // the faulting INT itself
    }

    [Fact]
    public void ANotPresentGateRaisesSegmentNotPresentWithTheIdtErrorCode()
    {
        _m.SetGate(0x40, Handler, present: false);
        _m.SetGate(11, Handler + 0x100);
        _m.Delivery.Deliver(_m.State, _m.Mmu, new InterruptEvent { Kind = InterruptKind.External, Vector = 0x40 }, _m.State.Rip, out var delivered);
        Assert.Equal((byte)11, delivered.Vector);
        Assert.Equal(0x40UL * 8 + 2 + 1, Stack(0));
    }

    [Fact]
    public void AContributoryFaultWhileDeliveringAContributoryFaultIsADoubleFault()
    {
        _m.SetGate(13, Handler, present: false); // #GP -> #NP(13*8+3) -> #DF
        _m.SetGate(8, Handler + 0x800, ist: 1);
        Assert.Equal(DeliveryOutcome.Delivered, _m.Delivery.Deliver(_m.State, _m.Mmu,
            InterruptEvent.FromFault(GuestFault.GeneralProtection()), _m.State.Rip, out var delivered));
        Assert.Equal((byte)8, delivered.Vector);
        Assert.Equal(Handler + 0x800, _m.State.Rip);
        Assert.Equal(0UL, Stack(0));
        Assert.Equal(Ist1 - 48, _m.State.Slots[GuestReg.Rsp]);
    }

    [Fact]
    public void APageFaultWhilePushingAPageFaultFrameIsADoubleFault()
    {
        _m.SetGate(14, Handler);
        _m.SetGate(8, Handler + 0x800, ist: 1);
        _m.State.Slots[GuestReg.Rsp] = 0x4000_0000; // unmapped stack
        _m.Delivery.Deliver(_m.State, _m.Mmu, InterruptEvent.FromFault(GuestFault.PageFault(0x1234, 0)), _m.State.Rip, out var delivered);
        Assert.Equal((byte)8, delivered.Vector);
        Assert.Equal(0x4000_0000UL - 8, _m.State.Sys.Cr2); // the second page fault's address
    }

    [Fact]
    public void ABenignExceptionWhoseGateFaultsDeliversTheNewFault()
    {
        _m.SetGate(6, Handler, present: false);
        _m.SetGate(11, Handler + 0x100);
        _m.Delivery.Deliver(_m.State, _m.Mmu, InterruptEvent.FromFault(GuestFault.InvalidOpcode()), _m.State.Rip, out var delivered);
        Assert.Equal((byte)11, delivered.Vector);
    }

    [Fact]
    public void AnEmptyIdtTripleFaultsAndLeavesTheStateAlone()
    {
        _m.State.Sys.Idtr = new DescriptorTableRegister(0, 0);
        ulong rip = _m.State.Rip, rsp = _m.State.Slots[GuestReg.Rsp];
        Assert.Equal(DeliveryOutcome.TripleFault, _m.Delivery.DeliverException(_m.State, _m.Mmu, GuestFault.InvalidOpcode()));
        Assert.Equal(rip, _m.State.Rip);
        Assert.Equal(rsp, _m.State.Slots[GuestReg.Rsp]);
    }

    [Fact]
    public void AFaultingDoubleFaultHandlerIsATripleFault()
    {
        _m.SetGate(13, Handler, present: false);
        _m.SetGate(8, Handler, present: false);
        Assert.Equal(DeliveryOutcome.TripleFault, _m.Delivery.DeliverException(_m.State, _m.Mmu, GuestFault.GeneralProtection()));
    }

    [Fact]
    public void AGateToA32BitCodeSegmentIsRefused()
    {
        _m.WriteGdt(1, 0x00CF_9A00_0000_FFFF); // D=1, L=0
        _m.SetGate(0x40, Handler);
        _m.SetGate(13, Handler, selector: 0x20 | 0); // user code selector used by the #GP gate: DPL 3 > CPL
        Assert.Equal(DeliveryOutcome.TripleFault, _m.Delivery.DeliverExternalInterrupt(_m.State, _m.Mmu, 0x40));
    }

    [Fact]
    public void AnIstSlotBeyondTheTssLimitRaisesInvalidTss()
    {
        _m.SetGate(0x40, Handler, ist: 2);
        _m.SetGate(10, Handler + 0x100);
        _m.State.Sys.Tr = _m.State.Sys.Tr with { Limit = 0x2B }; // IST1 fits, IST2 does not
        _m.Delivery.Deliver(_m.State, _m.Mmu, new InterruptEvent { Kind = InterruptKind.External, Vector = 0x40 }, _m.State.Rip, out var delivered);
        Assert.Equal((byte)10, delivered.Vector);
        Assert.Equal((ulong)TssSelector | 1, Stack(0));
    }

    [Fact]
    public void FromUserModeWithoutATssEverythingTripleFaults()
    {
        _m.SetGate(0x40, Handler);
        _m.SetGate(10, Handler);
        _m.SetGate(8, Handler);
        _m.EnterUser();
        _m.State.Sys.Tr = default;
        Assert.Equal(DeliveryOutcome.TripleFault, _m.Delivery.DeliverExternalInterrupt(_m.State, _m.Mmu, 0x40));
        Assert.Equal(3, _m.State.Cpl);
    }

    [Fact]
    public void IretqReturnsToTheInterruptedUserContext()
    {
        _m.SetGate(0x40, Handler);
        _m.EnterUser(0x30_5678);
        _m.State.Slots[GuestReg.CcDep1] = Drk.Hv.Cpu.Rflags.SF;
        var before = new VcpuState();
        before.CopyFrom(_m.State);
        _m.Delivery.DeliverExternalInterrupt(_m.State, _m.Mmu, 0x40);
        Assert.Equal(0, _m.State.Cpl);
        Assert.Equal(SystemOutcome.Jump, _m.Exec(SystemOp.Iretq));
        Assert.Equal(before.Slots, _m.State.Slots);
        Assert.Equal(3, _m.State.Cpl);
        Assert.Equal(UserCs, _m.State.Sys.Cs);
        Assert.Equal(UserSs, _m.State.Sys.Ss);
    }

    [Fact]
    public void IretqAtRing0KeepsIoplAndIfChangesButUserModeCannotChangeThem()
    {
        PushFrame(0x20_0100, KernelCs, Drk.Hv.Cpu.Rflags.Reserved1 | Drk.Hv.Cpu.Rflags.Iopl, KernelStack, KernelSs);
        Assert.Equal(SystemOutcome.Jump, _m.Exec(SystemOp.Iretq));
        Assert.Equal(Drk.Hv.Cpu.Rflags.Iopl, _m.State.Slots[GuestReg.FlagsOther] & (Drk.Hv.Cpu.Rflags.Iopl | Drk.Hv.Cpu.Rflags.IF));

        _m.EnterUser();
        _m.State.Slots[GuestReg.FlagsOther] = Drk.Hv.Cpu.Rflags.Reserved1 | Drk.Hv.Cpu.Rflags.IF;
        _m.Tables.Map(UserStack - 0x1000, UserStack - 0x1000, PageTableBuilder.P | PageTableBuilder.RW | PageTableBuilder.US);
        PushFrame(0x30_0100, UserCs, Drk.Hv.Cpu.Rflags.Reserved1 | Drk.Hv.Cpu.Rflags.Iopl | Drk.Hv.Cpu.Rflags.CF, UserStack, UserSs);
        Assert.Equal(SystemOutcome.Jump, _m.Exec(SystemOp.Iretq));
        Assert.Equal(Drk.Hv.Cpu.Rflags.IF, _m.State.Slots[GuestReg.FlagsOther] & (Drk.Hv.Cpu.Rflags.Iopl | Drk.Hv.Cpu.Rflags.IF));
        Assert.Equal(Drk.Hv.Cpu.Rflags.CF, _m.State.Slots[GuestReg.CcDep1]);
    }

    [Fact]
    public void IretqToAMorePrivilegedRingIsRefused()
    {
        _m.EnterUser();
        PushFrame(0x20_0000, KernelCs, Drk.Hv.Cpu.Rflags.Reserved1, KernelStack, KernelSs);
        Assert.Equal(SystemOutcome.Fault, _m.Exec(SystemOp.Iretq, 0, 0, out _, out var fault));
        Assert.Equal(ExceptionVector.GeneralProtection, fault.Vector);
        Assert.Equal((uint)KernelCs, fault.ErrorCode);
        Assert.Equal(3, _m.State.Cpl);
    }

    [Fact]
    public void IretqToANonCanonicalRipIsAGeneralProtectionFault()
    {
        PushFrame(0x8000_0000_0000, KernelCs, Drk.Hv.Cpu.Rflags.Reserved1, KernelStack, KernelSs);
        ulong rsp = _m.State.Slots[GuestReg.Rsp];
        Assert.Equal(SystemOutcome.Fault, _m.Exec(SystemOp.Iretq, 0, 0, out _, out var fault));
        Assert.Equal(ExceptionVector.GeneralProtection, fault.Vector);
        Assert.Equal(rsp, _m.State.Slots[GuestReg.Rsp]);
    }

    [Fact]
    public void IretqUnblocksNmis()
    {
        _m.SetGate(2, Handler);
        _m.Delivery.DeliverNmi(_m.State, _m.Mmu);
        Assert.True(_m.State.Sys.NmiBlocked);
        _m.Exec(SystemOp.Iretq);
        Assert.False(_m.State.Sys.NmiBlocked);
    }

    private void PushFrame(ulong rip, ushort cs, ulong rflags, ulong rsp, ushort ss)
    {
        ulong top = _m.State.Slots[GuestReg.Rsp] - 40;
        _m.State.Slots[GuestReg.Rsp] = top;
        _m.Write64(top, rip);
        _m.Write64(top + 8, cs);
        _m.Write64(top + 16, rflags);
        _m.Write64(top + 24, rsp);
        _m.Write64(top + 32, ss);
    }
}
