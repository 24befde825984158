using Drk.Hv.Cpu;
using Drk.Hv.Devices;

namespace Drk.Hv.Tests.Devices;

/// <summary>The local APIC's registers and its timer on the vCPU's virtual clock.</summary>
public sealed class LocalApicTests
{
    private readonly VcpuState _clock = new();
    private readonly LocalApic _apic;

    public LocalApicTests()
    {
        _apic = new LocalApic(0, _clock);
        Write(LocalApic.RegSvr, LocalApic.SvrEnable | 0xFF);
    }

    private void Write(int reg, uint value) => _apic.Write((ulong)reg, 4, value);
    private uint Read(int reg) => (uint)_apic.Read((ulong)reg, 4);
    private void Tick(ulong n) => _clock.InstructionsRetired += n;

    private void StartTimer(uint lvt, uint divide, uint count)
    {
        Write(LocalApic.RegTimerDivide, divide);
        Write(LocalApic.RegLvtTimer, lvt);
        Write(LocalApic.RegTimerInitial, count);
    }

    [Fact]
    public void IdentificationRegisters()
    {
        var apic = new LocalApic(3, _clock);
        Assert.Equal(3u << 24, (uint)apic.Read(LocalApic.RegId, 4));
        Assert.Equal(LocalApic.VersionValue, (uint)apic.Read(LocalApic.RegVersion, 4));
        Assert.Equal(LocalApic.LvtMasked, (uint)apic.Read(LocalApic.RegLvtTimer, 4)); // reset state: masked
        Assert.Equal(0xFFu, (uint)apic.Read(LocalApic.RegSvr, 4));
    }

    [Fact]
    public void OneShotTimerFiresOnceAtInitialCountTimesDivisor()
    {
        StartTimer(0x30, 0xB, 1000); // divide by 1
        Assert.Equal(1000UL, _apic.NextTimerDeadline);
        Tick(999);
        Assert.Equal(1u, Read(LocalApic.RegTimerCurrent));
        Assert.Equal(-1, _apic.PendingVector());
        Tick(1);
        Assert.Equal(0x30, _apic.PendingVector());
        Assert.Equal(0u, Read(LocalApic.RegTimerCurrent));
        Assert.Equal(ulong.MaxValue, _apic.NextTimerDeadline);
        Assert.True(_apic.TryAcknowledge(out byte v));
        Assert.Equal(0x30, v);
        Tick(5000);
        Assert.Equal(-1, _apic.PendingVector());
    }

    [Theory]
    [InlineData(0x0u, 2UL)]
    [InlineData(0x1u, 4UL)]
    [InlineData(0x2u, 8UL)]
    [InlineData(0x3u, 16UL)]
    [InlineData(0x8u, 32UL)]
    [InlineData(0x9u, 64UL)]
    [InlineData(0xAu, 128UL)]
    [InlineData(0xBu, 1UL)]
    public void TheDivideConfigurationScalesTheCount(uint config, ulong divisor)
    {
        Tick(77);
        StartTimer(0x30, config, 100);
        Assert.Equal(divisor, _apic.TimerDivisor);
        Assert.Equal(77 + 100 * divisor, _apic.NextTimerDeadline);
        Tick(divisor * 40);
        Assert.Equal(60u, Read(LocalApic.RegTimerCurrent));
    }

    [Fact]
    public void PeriodicTimerReloadsAndKeepsItsPhase()
    {
        StartTimer(0x31 | LocalApic.LvtTimerPeriodic, 0x3, 10); // period 160 ticks
        var fired = new List<ulong>();
        for (int i = 0; i < 1000; i++)
        {
            Tick(7);
            if (_apic.TryAcknowledge(out _))
            {
                fired.Add(_clock.Ticks);
                Write(LocalApic.RegEoi, 0);
            }
        }
        Assert.Equal(7000UL / 160, (ulong)fired.Count);
        for (int i = 0; i < fired.Count; i++)
        {
            ulong due = (ulong)(i + 1) * 160;
            Assert.InRange(fired[i], due, due + 6); // seen at the first poll after it fell due
        }
        Assert.Equal(7000UL / 160 * 160 + 160, _apic.NextTimerDeadline);
    }

    [Fact]
    public void APeriodicTimerThatExpiredManyTimesWhileNobodyLookedRaisesOneInterrupt()
    {
        StartTimer(0x31 | LocalApic.LvtTimerPeriodic, 0xB, 100);
        Tick(1050);
        Assert.True(_apic.TryAcknowledge(out _));
        Assert.False(_apic.TryAcknowledge(out _));
        Assert.Equal(1100UL, _apic.NextTimerDeadline);
    }

    [Fact]
    public void AMaskedTimerCountsButRaisesNothingAndHasNoDeadline()
    {
        StartTimer(0x30 | LocalApic.LvtMasked, 0xB, 100);
        Assert.Equal(ulong.MaxValue, _apic.NextTimerDeadline);
        Tick(50);
        Assert.Equal(50u, Read(LocalApic.RegTimerCurrent));
        Tick(50);
        Assert.Equal(-1, _apic.PendingVector());
    }

    [Fact]
    public void WritingZeroToTheInitialCountStopsTheTimer()
    {
        StartTimer(0x30, 0xB, 100);
        Write(LocalApic.RegTimerInitial, 0);
        Tick(1000);
        Assert.Equal(-1, _apic.PendingVector());
        Assert.Equal(0u, Read(LocalApic.RegTimerCurrent));
    }

    [Fact]
    public void ChangingTheDivisorMidCountKeepsTheRemainingCount()
    {
        StartTimer(0x30, 0xB, 100);
        Tick(40);
        Write(LocalApic.RegTimerDivide, 0x0); // now divide by 2
        Assert.Equal(60u, Read(LocalApic.RegTimerCurrent));
        Assert.Equal(40 + 120UL, _apic.NextTimerDeadline);
    }

    [Fact]
    public void TaskPriorityHoldsBackLowerClassesAndEoiRetiresInServiceVectors()
    {
        _apic.Accept(0x45);
        _apic.Accept(0x62);
        Write(LocalApic.RegTpr, 0x50);
        Assert.Equal(0x62, _apic.PendingVector());
        Assert.True(_apic.TryAcknowledge(out byte v));
        Assert.Equal(0x62, v);
        Assert.Equal(0x60u, Read(LocalApic.RegPpr));
        Assert.Equal(-1, _apic.PendingVector());
        Assert.Equal(1u << 2, Read(LocalApic.RegIsr + 0x30)); // vector 0x62 is bit 2 of ISR word 3
        Write(LocalApic.RegEoi, 0);
        Assert.Equal(-1, _apic.PendingVector()); // 0x45 still below TPR 0x50
        Write(LocalApic.RegTpr, 0);
        Assert.Equal(0x45, _apic.PendingVector());
        Assert.Equal(1u << 5, Read(LocalApic.RegIrr + 0x20));
    }

    [Fact]
    public void ASoftwareDisabledApicDeliversNothingAndMasksItsLvt()
    {
        _apic.Accept(0x40);
        Write(LocalApic.RegSvr, 0xFF);
        Assert.Equal(-1, _apic.PendingVector());
        Write(LocalApic.RegLvtTimer, 0x30);
        Assert.Equal(LocalApic.LvtMasked | 0x30, Read(LocalApic.RegLvtTimer));
    }

    [Fact]
    public void IllegalVectorsAreReportedInTheErrorStatus()
    {
        _apic.Accept(3);
        Write(LocalApic.RegEsr, 0);
        Assert.Equal(1u << 6, Read(LocalApic.RegEsr));
    }

    [Fact]
    public void SelfIpiLandsInIrr()
    {
        Write(LocalApic.RegIcrLow, (1u << 18) | 0x55);
        Assert.Equal(0x55, _apic.PendingVector());
        Assert.Equal(0u, Read(LocalApic.RegIcrLow) & (1u << 12)); // delivery status idle
    }

    [Fact]
    public void OddAccessesNeverThrow()
    {
        for (ulong off = 0; off < 0x1000; off += 3)
        {
            _apic.Read(off, 1);
            _apic.Read(off, 8);
            _apic.Write(off, 2, ulong.MaxValue);
        }
    }
}
