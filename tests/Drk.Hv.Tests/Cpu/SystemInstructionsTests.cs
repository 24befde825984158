using Drk.Hv.Cpu;
using Drk.Hv.Devices;
using Drk.Hv.Memory;
using Drk.Hv.Tests.Support;
using static Drk.Hv.Tests.Support.LongModeFixture;

namespace Drk.Hv.Tests.Cpu;

public sealed class SystemInstructionsTests : IDisposable
{
    private readonly LongModeFixture _m = new();

    public void Dispose() => _m.Dispose();

    private ulong Reg(int r) => _m.State.Slots[r];

    private void AssertFault(ExceptionVector vector, uint error, SystemOp op, ulong a = 0, ulong b = 0)
    {
        var before = (ulong[])_m.State.Slots.Clone();
        Assert.Equal(SystemOutcome.Fault, _m.Exec(op, a, b, out _, out var fault));
        Assert.Equal(vector, fault.Vector);
        if (fault.HasErrorCode) Assert.Equal(error, fault.ErrorCode);
        Assert.Equal(_m.State.Rip, fault.Rip);
        Assert.Equal(before, _m.State.Slots);
    }

    public static TheoryData<SystemOp, ulong, ulong> PrivilegedOps => new()
    {
        { SystemOp.Hlt, 0, 0 }, { SystemOp.ReadCr, 0, 0 }, { SystemOp.WriteCr, 3, 0 }, { SystemOp.Lgdt, 0x1000, 0 },
        { SystemOp.Lidt, 0x1000, 0 }, { SystemOp.Ltr, TssSelector, 0 }, { SystemOp.Rdmsr, 0, 0 }, { SystemOp.Wrmsr, 0, 0 },
        { SystemOp.Invlpg, 0, 0 }, { SystemOp.Wbinvd, 0, 0 }, { SystemOp.Swapgs, 0, 0 }, { SystemOp.Cli, 0, 0 },
        { SystemOp.Sti, 0, 0 }, { SystemOp.In, 0x3F8, 1 }, { SystemOp.Out, 0x3F8, 1 }, { SystemOp.Sysretq, 0, 0 },
    };

    [Theory]
    [MemberData(nameof(PrivilegedOps))]
    public void PrivilegedInstructionsAreGeneralProtectionFaultsInUserMode(SystemOp op, ulong a, ulong b)
    {
        _m.EnterUser();
        _m.State.Slots[GuestReg.Rcx] = Msr.Efer;
        AssertFault(ExceptionVector.GeneralProtection, 0, op, a, b);
    }

    [Fact]
    public void IoplThreeLetsUserModeUsePortsAndInterruptFlag()
    {
        var ports = new IoPortBus();
        var system = new SystemInstructions(EagerFlags.Instance) { Ports = ports };
        _m.EnterUser();
        _m.State.Slots[GuestReg.FlagsOther] |= Drk.Hv.Cpu.Rflags.Iopl;
        Assert.Equal(SystemOutcome.Continue, system.Execute(SystemOp.In, _m.State, _m.Mmu, 0x80, 2, out ulong v, out _));
        Assert.Equal(0xFFFFUL, v);
        Assert.Equal(SystemOutcome.Continue, system.Execute(SystemOp.Cli, _m.State, _m.Mmu, 0, 0, out _, out _));
        Assert.Equal(0UL, Reg(GuestReg.FlagsOther) & Drk.Hv.Cpu.Rflags.IF);
    }

    [Fact]
    public void StiSetsAnInterruptShadowOnlyWhenInterruptsWereOff()
    {
        _m.State.Slots[GuestReg.FlagsOther] &= ~Drk.Hv.Cpu.Rflags.IF;
        _m.Exec(SystemOp.Sti);
        Assert.True(_m.State.Sys.InterruptShadow);
        _m.State.Sys.InterruptShadow = false;
        _m.Exec(SystemOp.Sti);
        Assert.False(_m.State.Sys.InterruptShadow);
        Assert.Equal(SystemOutcome.Halt, _m.Exec(SystemOp.Hlt));
        Assert.True(_m.State.Sys.Halted);
    }

    [Fact]
    public void CpuidReportsTheDocumentedFeatures()
    {
        var apic = new LocalApic(5, _m.State);
        var system = new SystemInstructions(EagerFlags.Instance) { Apic = apic };
        void Cpuid(uint leaf, uint sub = 0)
        {
            _m.State.Slots[GuestReg.Rax] = 0xFFFF_FFFF_0000_0000 | leaf;
            _m.State.Slots[GuestReg.Rcx] = sub;
            Assert.Equal(SystemOutcome.Continue, system.Execute(SystemOp.Cpuid, _m.State, _m.Mmu, 0, 0, out _, out _));
        }
        Cpuid(0);
        Assert.Equal(CpuidTable.MaxBasicLeaf, Reg(GuestReg.Rax));
        var vendor = new byte[12];
        BitConverter.TryWriteBytes(vendor.AsSpan(0), (uint)Reg(GuestReg.Rbx));
        BitConverter.TryWriteBytes(vendor.AsSpan(4), (uint)Reg(GuestReg.Rdx));
        BitConverter.TryWriteBytes(vendor.AsSpan(8), (uint)Reg(GuestReg.Rcx));
        Assert.Equal(CpuidTable.Vendor, System.Text.Encoding.ASCII.GetString(vendor));
        Cpuid(1);
        Assert.Equal(5UL, Reg(GuestReg.Rbx) >> 24);
        Assert.NotEqual(0UL, Reg(GuestReg.Rdx) & CpuidTable.Leaf1EdxApic);
        Assert.Equal(0UL, Reg(GuestReg.Rdx) & (1 << 0 | 1 << 24 | 1 << 25 | 1 << 26)); // no FPU, FXSR, SSE, SSE2
        Assert.Equal(0UL, Reg(GuestReg.Rcx) & 0x7FFF_FFFF);                             // no SSE3+, AVX, XSAVE, x2APIC
        Cpuid(0x8000_0001);
        Assert.NotEqual(0UL, Reg(GuestReg.Rdx) & CpuidTable.Ext1EdxLongMode);
        Assert.NotEqual(0UL, Reg(GuestReg.Rdx) & CpuidTable.Ext1EdxNx);
        Cpuid(0x8000_0008);
        Assert.Equal(0x3028UL, Reg(GuestReg.Rax));
        Cpuid(0x15);
        Assert.Equal(1_000_000_000UL, Reg(GuestReg.Rcx));
        Cpuid(0x1234);
        Assert.Equal(0UL, Reg(GuestReg.Rax) | Reg(GuestReg.Rbx) | Reg(GuestReg.Rcx) | Reg(GuestReg.Rdx));
    }

    [Fact]
    public void RdtscReadsTheVirtualClockPlusTheOffset()
    {
        _m.State.InstructionsRetired = 0x1_0000_0005;
        _m.State.IdleTicks = 10;
        _m.Exec(SystemOp.Rdtsc);
        Assert.Equal(0x0000_000FUL, Reg(GuestReg.Rax));
        Assert.Equal(1UL, Reg(GuestReg.Rdx));
        _m.State.Slots[GuestReg.Rcx] = Msr.Tsc;
        _m.State.Slots[GuestReg.Rax] = 1000;
        _m.State.Slots[GuestReg.Rdx] = 0;
        Assert.Equal(SystemOutcome.Continue, _m.Exec(SystemOp.Wrmsr));
        _m.State.InstructionsRetired += 7;
        _m.State.Sys.TscAux = 3;
        _m.Exec(SystemOp.Rdtscp);
        Assert.Equal(1007UL, Reg(GuestReg.Rax));
        Assert.Equal(0UL, Reg(GuestReg.Rdx));
        Assert.Equal(3UL, Reg(GuestReg.Rcx));
    }

    [Fact]
    public void RdtscInUserModeFaultsOnlyWithCr4Tsd()
    {
        _m.EnterUser();
        Assert.Equal(SystemOutcome.Continue, _m.Exec(SystemOp.Rdtsc));
        _m.State.Sys.Cr4 |= ControlBits.Cr4TSD;
        AssertFault(ExceptionVector.GeneralProtection, 0, SystemOp.Rdtsc);
    }

    [Fact]
    public void ControlRegisterAccessChecksRegistersAndReservedBits()
    {
        AssertFault(ExceptionVector.InvalidOpcode, 0, SystemOp.ReadCr, 5);
        AssertFault(ExceptionVector.InvalidOpcode, 0, SystemOp.WriteCr, 1, 0);
        AssertFault(ExceptionVector.GeneralProtection, 0, SystemOp.WriteCr, 0, _m.State.Sys.Cr0 | (1UL << 40));
        AssertFault(ExceptionVector.GeneralProtection, 0, SystemOp.WriteCr, 0, _m.State.Sys.Cr0 & ~ControlBits.Cr0PG);
        AssertFault(ExceptionVector.GeneralProtection, 0, SystemOp.WriteCr, 4, _m.State.Sys.Cr4 | (1UL << 20)); // SMEP not offered
        AssertFault(ExceptionVector.GeneralProtection, 0, SystemOp.WriteCr, 4, 0);                               // PAE off in long mode
        AssertFault(ExceptionVector.GeneralProtection, 0, SystemOp.WriteCr, 3, 1UL << 50);
        AssertFault(ExceptionVector.GeneralProtection, 0, SystemOp.WriteCr, 8, 16);
        Assert.Equal(SystemOutcome.Continue, _m.Exec(SystemOp.WriteCr, 2, 0x1234));
        Assert.Equal(SystemOutcome.Continue, _m.Exec(SystemOp.ReadCr, 2, 0, out ulong cr2, out _));
        Assert.Equal(0x1234UL, cr2);
    }

    [Fact]
    public void Cr8IsTheApicTaskPriority()
    {
        var apic = new LocalApic(0, _m.State);
        var system = new SystemInstructions(EagerFlags.Instance) { Apic = apic };
        system.Execute(SystemOp.WriteCr, _m.State, _m.Mmu, 8, 0x9, out _, out _);
        Assert.Equal(0x90, apic.Tpr);
        apic.Tpr = 0x30;
        system.Execute(SystemOp.ReadCr, _m.State, _m.Mmu, 8, 0, out ulong cr8, out _);
        Assert.Equal(3UL, cr8);
    }

    [Fact]
    public void MsrsRoundTripAndUnknownOnesFault()
    {
        void Write(uint msr, ulong value)
        {
            _m.State.Slots[GuestReg.Rcx] = msr;
            _m.State.Slots[GuestReg.Rax] = (uint)value;
            _m.State.Slots[GuestReg.Rdx] = value >> 32;
            Assert.Equal(SystemOutcome.Continue, _m.Exec(SystemOp.Wrmsr));
        }
        ulong Read(uint msr)
        {
            _m.State.Slots[GuestReg.Rcx] = msr;
            Assert.Equal(SystemOutcome.Continue, _m.Exec(SystemOp.Rdmsr));
            return (Reg(GuestReg.Rdx) << 32) | Reg(GuestReg.Rax);
        }
        Write(Msr.Lstar, 0xFFFF_FFFF_8100_0000);
        Assert.Equal(0xFFFF_FFFF_8100_0000UL, _m.State.Sys.Lstar);
        Assert.Equal(0xFFFF_FFFF_8100_0000UL, Read(Msr.Lstar));
        Write(Msr.GsBase, 0xFFFF_8880_0000_1000);
        Assert.Equal(0xFFFF_8880_0000_1000UL, Reg(GuestReg.GsBase));
        Write(Msr.KernelGsBase, 0x1000);
        Write(Msr.Star, 0x0023_0010_0000_0000);
        Write(Msr.Fmask, 0x4700);
        Assert.Equal(0x4700UL, Read(Msr.Fmask));
        Assert.Equal(_m.State.Sys.Efer, Read(Msr.Efer));

        _m.State.Slots[GuestReg.Rcx] = Msr.Lstar;
        _m.State.Slots[GuestReg.Rdx] = 0x8000;
        AssertFault(ExceptionVector.GeneralProtection, 0, SystemOp.Wrmsr);
        _m.State.Slots[GuestReg.Rcx] = 0x277; // IA32_PAT: not implemented
        AssertFault(ExceptionVector.GeneralProtection, 0, SystemOp.Rdmsr);
        _m.State.Slots[GuestReg.Rcx] = Msr.Efer;
        _m.State.Slots[GuestReg.Rdx] = 0;
        _m.State.Slots[GuestReg.Rax] = 0x1000 | 0xD01; // SVME: not offered
        AssertFault(ExceptionVector.GeneralProtection, 0, SystemOp.Wrmsr);
    }

    [Fact]
    public void ClearingEferNxeFlushesTheTlbSoNxBitsBecomeReserved()
    {
        _m.Tables.Map(0x4000_0000, 0x80_0000, PageTableBuilder.P | PageTableBuilder.RW | PageTableBuilder.NX);
        Assert.True(_m.Mmu.Read(0x4000_0000, 8, out _, out _));
        _m.State.Slots[GuestReg.Rcx] = Msr.Efer;
        _m.State.Slots[GuestReg.Rax] = 0x501;
        _m.State.Slots[GuestReg.Rdx] = 0;
        Assert.Equal(SystemOutcome.Continue, _m.Exec(SystemOp.Wrmsr));
        Assert.Equal(0x501UL, _m.State.Sys.Efer);
        Assert.False(_m.Mmu.Read(0x4000_0000, 8, out _, out var fault));
        Assert.Equal(PageTableBits.ErrorPresent | PageTableBits.ErrorReserved, fault.ErrorCode);
    }

    [Fact]
    public void LgdtLidtSgdtSidtMoveTheTenByteOperand()
    {
        _m.Memory.Write(0x8000, 2, 0xFF);
        _m.Memory.Write(0x8002, 8, 0xFFFF_8000_1234_5000);
        Assert.Equal(SystemOutcome.Continue, _m.Exec(SystemOp.Lidt, 0x8000));
        Assert.Equal(0xFFu, _m.State.Sys.Idtr.Limit);
        Assert.Equal(0xFFFF_8000_1234_5000UL, _m.State.Sys.Idtr.Base);
        Assert.Equal(SystemOutcome.Continue, _m.Exec(SystemOp.Sgdt, 0x9000));
        Assert.Equal((ulong)(_m.State.Sys.Gdtr.Limit) | (GdtBase << 16), _m.Read64(0x9000));
        _m.Write64(0x8002, 0x0000_8000_0000_0000);
        AssertFault(ExceptionVector.GeneralProtection, 0, SystemOp.Lgdt, 0x8000);
    }

    [Fact]
    public void SidtToAPartlyReadOnlyOperandWritesNothing()
    {
        _m.Tables.Map(0x4000_0000, 0x80_0000, PageTableBuilder.P | PageTableBuilder.RW);
        _m.Tables.Map(0x4000_1000, 0x90_0000, PageTableBuilder.P);
        Assert.Equal(SystemOutcome.Fault, _m.Exec(SystemOp.Sidt, 0x4000_0FFA, 0, out _, out var fault));
        Assert.Equal(ExceptionVector.PageFault, fault.Vector);
        Assert.Equal(0UL, _m.Read64(0x80_0FF8));
    }

    [Fact]
    public void LtrLoadsTheTssAndMarksItBusy()
    {
        _m.State.Sys.Tr = default;
        Assert.Equal(SystemOutcome.Continue, _m.Exec(SystemOp.Ltr, TssSelector));
        Assert.Equal(TssSelector, _m.State.Sys.Tr.Selector);
        Assert.Equal(TssBase, _m.State.Sys.Tr.Base);
        Assert.Equal(0x67u, _m.State.Sys.Tr.Limit);
        Assert.Equal(0xBUL, (_m.Read64(GdtBase + TssSelector) >> 40) & 0xF);
        AssertFault(ExceptionVector.GeneralProtection, TssSelector, SystemOp.Ltr, TssSelector); // busy now
        AssertFault(ExceptionVector.GeneralProtection, KernelCs, SystemOp.Ltr, KernelCs);
        AssertFault(ExceptionVector.GeneralProtection, 0, SystemOp.Ltr, 0);
        Assert.Equal(SystemOutcome.Continue, _m.Exec(SystemOp.Str, 0, 0, out ulong tr, out _));
        Assert.Equal((ulong)TssSelector, tr);
    }

    [Fact]
    public void LoadingFsOrGsTakesTheDescriptorBaseAndNullClearsIt()
    {
        _m.WriteGdt(2, 0x12CF_9234_5678_FFFF); // kernel data with base 0x12345678
        _m.State.Slots[GuestReg.FsBase] = 0xFFFF_8000_0000_0000;
        Assert.Equal(SystemOutcome.Continue, _m.Exec(SystemOp.WriteSegment, (ulong)SegmentRegister.Fs, KernelSs));
        Assert.Equal(0x1234_5678UL, Reg(GuestReg.FsBase));
        Assert.Equal(KernelSs, _m.State.Sys.Fs);
        Assert.Equal(SystemOutcome.Continue, _m.Exec(SystemOp.WriteSegment, (ulong)SegmentRegister.Gs, 0));
        Assert.Equal(0UL, Reg(GuestReg.GsBase));
        Assert.Equal(SystemOutcome.Continue, _m.Exec(SystemOp.ReadSegment, (ulong)SegmentRegister.Fs, 0, out ulong sel, out _));
        Assert.Equal((ulong)KernelSs, sel);
    }

    [Fact]
    public void SegmentLoadsCheckPrivilegeAndType()
    {
        _m.EnterUser();
        AssertFault(ExceptionVector.GeneralProtection, KernelSs, SystemOp.WriteSegment, (ulong)SegmentRegister.Ds, KernelSs);
        AssertFault(ExceptionVector.GeneralProtection, 0, SystemOp.WriteSegment, (ulong)SegmentRegister.Ss, 3);
        AssertFault(ExceptionVector.GeneralProtection, 0x38, SystemOp.WriteSegment, (ulong)SegmentRegister.Ds, 0x3B); // past the GDT
        AssertFault(ExceptionVector.InvalidOpcode, 0, SystemOp.WriteSegment, (ulong)SegmentRegister.Cs, UserCs);
        AssertFault(ExceptionVector.InvalidOpcode, 0, SystemOp.WriteSegment, 0x100, UserSs);
        Assert.Equal(SystemOutcome.Continue, _m.Exec(SystemOp.WriteSegment, (ulong)SegmentRegister.Ds, UserSs));
        Assert.Equal(SystemOutcome.Continue, _m.Exec(SystemOp.WriteSegment, (ulong)SegmentRegister.Ss, UserSs));
        Assert.True(_m.State.Sys.InterruptShadow);
        _m.WriteGdt(3, 0x00CF_7200_0000_FFFF); // user data, not present
        AssertFault(ExceptionVector.SegmentNotPresent, 0x18, SystemOp.WriteSegment, (ulong)SegmentRegister.Es, UserSs);
    }

    [Fact]
    public void FsGsBaseInstructionsNeedCr4FsgsbaseAndCanonicalValues()
    {
        AssertFault(ExceptionVector.InvalidOpcode, 0, SystemOp.ReadSegBase, 0);
        _m.State.Sys.Cr4 |= ControlBits.Cr4FSGSBASE;
        _m.EnterUser();
        Assert.Equal(SystemOutcome.Continue, _m.Exec(SystemOp.WriteSegBase, 1, 0x7000_1000));
        Assert.Equal(SystemOutcome.Continue, _m.Exec(SystemOp.ReadSegBase, 1, 0, out ulong gs, out _));
        Assert.Equal(0x7000_1000UL, gs);
        AssertFault(ExceptionVector.GeneralProtection, 0, SystemOp.WriteSegBase, 0, 0x8000_0000_0000);
    }

    [Fact]
    public void ClflushFaultsLikeAReadOfItsAddress()
    {
        Assert.Equal(SystemOutcome.Continue, _m.Exec(SystemOp.Clflush, 0x1000));
        AssertFault(ExceptionVector.PageFault, 0, SystemOp.Clflush, 0x4000_0000);
    }

    [Fact]
    public void DebugExitStopsTheMachineWithTheGuestsStatus()
    {
        var stop = new MachineStop();
        var ports = new IoPortBus();
        ports.Register(IsaDebugExit.DefaultPort, IsaDebugExit.PortCount, new IsaDebugExit(stop));
        var system = new SystemInstructions(EagerFlags.Instance) { Ports = ports, Stop = stop };
        _m.State.Slots[GuestReg.Rax] = 0x1_0000_0021;
        Assert.Equal(SystemOutcome.Stop, system.Execute(SystemOp.Out, _m.State, _m.Mmu, 0xF4, 4, out _, out _));
        Assert.Equal(MachineStopReason.DebugExit, stop.Reason);
        Assert.Equal(0x21, stop.ExitStatus);
    }
}
