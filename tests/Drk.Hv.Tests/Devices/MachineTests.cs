using Drk.Hv.Cpu;
using Drk.Hv.Devices;
using Drk.Hv.Tests.Support;

namespace Drk.Hv.Tests.Devices;

/// <summary>A whole machine: APIC MMIO through the MMU, IPIs, INIT/SIPI, HLT fast-forward.</summary>
public sealed class MachineTests : IDisposable
{
    private readonly Machine _machine = new(new MachineConfig { RamSize = 16 << 20, CpuCount = 2 }, EagerFlags.Instance);

    public void Dispose() => _machine.Dispose();

    private Vcpu Cpu(int i) => _machine.Vcpus[i];

    private void ApicWrite(int cpu, int reg, uint value) =>
        Assert.True(Cpu(cpu).Mmu.Write(LocalApic.DefaultBase + (ulong)reg, 4, value, out _));

    [Fact]
    public void EachVcpuSeesItsOwnApicAtTheSameAddress()
    {
        Assert.True(Cpu(0).Mmu.Read(LocalApic.DefaultBase + LocalApic.RegId, 4, out ulong id0, out _));
        Assert.True(Cpu(1).Mmu.Read(LocalApic.DefaultBase + LocalApic.RegId, 4, out ulong id1, out _));
        Assert.Equal(0UL, id0 >> 24);
        Assert.Equal(1UL, id1 >> 24);
        Assert.NotEqual(0UL, Cpu(0).State.Sys.ApicBase & Msr.ApicBaseBsp);
        Assert.Equal(0UL, Cpu(1).State.Sys.ApicBase & Msr.ApicBaseBsp);
        Assert.True(Cpu(1).WaitingForStartup);
    }

    [Fact]
    public void AFixedIpiReachesTheDestinationApic()
    {
        ApicWrite(1, LocalApic.RegSvr, 0x1FF);
        ApicWrite(0, LocalApic.RegIcrHigh, 1u << 24);
        ApicWrite(0, LocalApic.RegIcrLow, 0x40); // fixed, physical destination
        Assert.True(Cpu(1).Apic.IsRequested(0x40));
        Assert.False(Cpu(0).Apic.IsRequested(0x40));
    }

    [Fact]
    public void BroadcastExcludingSelfReachesTheOthers()
    {
        ApicWrite(0, LocalApic.RegIcrLow, (3u << 18) | 0x41);
        Assert.True(Cpu(1).Apic.IsRequested(0x41));
        Assert.False(Cpu(0).Apic.IsRequested(0x41));
    }

    [Fact]
    public void InitAndStartupIpisAreReportedToTheRunLoop()
    {
        var seen = new List<(int Cpu, IpiDeliveryMode Mode, byte Vector)>();
        _machine.StartupIpi += (v, ipi) => seen.Add((v.Index, ipi.DeliveryMode, ipi.Vector));
        ApicWrite(0, LocalApic.RegIcrHigh, 1u << 24);
        ApicWrite(0, LocalApic.RegIcrLow, 0x0000_C500); // INIT, level assert
        ApicWrite(0, LocalApic.RegIcrLow, 0x0000_8500); // INIT de-assert: ignored
        ApicWrite(0, LocalApic.RegIcrLow, 0x0000_0608); // STARTUP at 0x8000
        Assert.Equal(new[] { (1, IpiDeliveryMode.Init, (byte)0), (1, IpiDeliveryMode.Startup, (byte)8) }, seen);
    }

    [Fact]
    public void AHaltedVcpuFastForwardsToItsTimerAndWakes()
    {
        var cpu = Cpu(0);
        using var fx = new LongModeFixture();
        fx.SetGate(0x30, 0x21_0000);
        fx.Tables.Map(LocalApic.DefaultBase, LocalApic.DefaultBase, PageTableBuilder.P | PageTableBuilder.RW);
        // Give vCPU 0 the fixture's long-mode setup: its RAM (tables, GDT, IDT, TSS) and registers.
        fx.Memory.GetRamSpan(0, 16 << 20).CopyTo(_machine.Memory.GetRamSpan(0, 16 << 20));
        cpu.State.CopyFrom(fx.State);
        cpu.Mmu.FlushAll();

        ApicWrite(0, LocalApic.RegSvr, 0x1FF);
        ApicWrite(0, LocalApic.RegTimerDivide, 0xB);
        ApicWrite(0, LocalApic.RegLvtTimer, 0x30);
        ApicWrite(0, LocalApic.RegTimerInitial, 1_000_000);
        cpu.State.InstructionsRetired = 500;
        Assert.Equal(SystemOutcome.Halt, cpu.System.Execute(SystemOp.Hlt, cpu.State, cpu.Mmu, 0, 0, out _, out _));
        cpu.State.Rip += 1;
        Assert.False(cpu.TryWake());
        Assert.Equal(1_000_000UL, cpu.NextDeadline);
        Assert.True(cpu.FastForwardToDeadline());
        Assert.Equal(1_000_000UL, cpu.State.Ticks);
        Assert.Equal(500UL, cpu.State.InstructionsRetired);
        Assert.True(cpu.TryWake());
        Assert.False(cpu.State.Sys.Halted);
        Assert.Equal(0x21_0000UL, cpu.State.Rip);
        Assert.True(cpu.Apic.IsInService(0x30));
        Assert.False(_machine.IsDeadlocked);
    }

    [Fact]
    public void InterruptsWaitForIfAndTheShadow()
    {
        var cpu = Cpu(0);
        ApicWrite(0, LocalApic.RegSvr, 0x1FF);
        cpu.Apic.Accept(0x50);
        Assert.True(cpu.Apic.MayHaveInterrupt);
        cpu.State.Slots[GuestReg.FlagsOther] = Drk.Hv.Cpu.Rflags.Reserved1;
        Assert.False(cpu.TryDeliverInterrupt());
        cpu.State.Slots[GuestReg.FlagsOther] |= Drk.Hv.Cpu.Rflags.IF;
        cpu.State.Sys.InterruptShadow = true;
        Assert.False(cpu.TryDeliverInterrupt());
        Assert.True(cpu.Apic.IsRequested(0x50));
    }

    [Fact]
    public void AHaltedMachineWithInterruptsOffAndNoTimerIsDeadlocked()
    {
        var cpu = Cpu(0);
        cpu.State.Sys.Halted = true;
        Assert.False(cpu.FastForwardToDeadline());
        Assert.True(_machine.IsDeadlocked); // vCPU 1 was never started
    }

    [Fact]
    public void ATimerCannotWakeAVcpuHaltedWithInterruptsOff()
    {
        var cpu = Cpu(0);
        ApicWrite(0, LocalApic.RegSvr, 0x1FF);
        ApicWrite(0, LocalApic.RegLvtTimer, 0x30 | LocalApic.LvtTimerPeriodic);
        ApicWrite(0, LocalApic.RegTimerInitial, 100);
        cpu.State.Sys.Halted = true;
        Assert.NotEqual(ulong.MaxValue, cpu.Apic.NextTimerDeadline);
        Assert.Equal(ulong.MaxValue, cpu.NextDeadline);
        Assert.True(_machine.IsDeadlocked);
    }

    [Fact]
    public void ATripleFaultStopsTheMachineWithADump()
    {
        var cpu = Cpu(0);
        cpu.State.Sys.Idtr = default;
        Assert.Equal(DeliveryOutcome.TripleFault, cpu.DeliverFault(GuestFault.InvalidOpcode()));
        Assert.True(_machine.Stop.IsRequested);
        Assert.Equal(MachineStopReason.TripleFault, _machine.Stop.Reason);
        Assert.Contains("rip=", _machine.Stop.Detail);
    }
}
