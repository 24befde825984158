using System.Reflection;
using Drk.Dispatcher.Execution;
using Drk.Hv.Cpu;
using Drk.Hv.Devices;

namespace Drk.Dispatcher.Tests.CodeCache;

/// <summary>
/// The dispatch loop's and the traces' inline interrupt test reads the APIC's poll point directly;
/// it must say exactly what <see cref="LocalApic.MayHaveInterrupt"/> says, and that must be what the
/// APIC's own state says: an IRR bit, an NMI, or the clock at the timer's expiry.
/// </summary>
public sealed class InterruptPollTests
{
    [Fact]
    public void The_field_read_inline_exists()
    {
        Assert.Equal(typeof(ulong), typeof(LocalApic).GetField(InterruptPoll.PollAtField, Private)?.FieldType);
    }

    private const BindingFlags Private = BindingFlags.Instance | BindingFlags.NonPublic;

    /// <summary>The definition the poll point caches, from the APIC's primary state.</summary>
    private static bool PendingByDefinition(LocalApic apic, VcpuState clock)
    {
        int irrCount = (int)typeof(LocalApic).GetField("_irrCount", Private)!.GetValue(apic)!;
        ulong expiry = (ulong)typeof(LocalApic).GetField("_expiry", Private)!.GetValue(apic)!;
        return irrCount != 0 || apic.NmiPending || clock.Ticks >= expiry;
    }

    [Fact]
    public void The_inline_test_agrees_with_the_apic_through_timer_ipis_and_nmis()
    {
        var clock = new VcpuState();
        var apic = new LocalApic(0, clock);
        int checks = 0;
        void Check()
        {
            bool expected = PendingByDefinition(apic, clock);
            Assert.Equal(expected, apic.MayHaveInterrupt);
            Assert.Equal(expected, InterruptPoll.MayHaveInterrupt(apic, clock));
            checks++;
        }

        Check();
        apic.Write(0xF0, 4, 0x1FF);          // software enable
        apic.Write(0x3E0, 4, 0xB);           // divide by 1
        apic.Write(0x320, 4, 0x20040);       // periodic, vector 0x40
        apic.Write(0x380, 4, 100);
        for (int i = 0; i < 300; i++)
        {
            clock.InstructionsRetired += 7;
            if (i % 50 == 0) clock.IdleTicks += 13;
            Check();
            if (apic.MayHaveInterrupt && apic.TryAcknowledge(out _)) apic.Write(0xB0, 4, 0);   // EOI
            Check();
        }
        apic.Write(0x380, 4, 0);             // the timer stops
        Check();
        apic.Write(0x320, 4, 0x40);          // one-shot, vector 0x40
        apic.Write(0x380, 4, 400);
        Check();
        apic.Write(0x3E0, 4, 0x3);           // divide by 16 in the middle of the count
        Check();
        for (int i = 0; i < 1000; i++)
        {
            clock.InstructionsRetired += 11;
            Check();
            if (apic.MayHaveInterrupt && apic.TryAcknowledge(out _)) apic.Write(0xB0, 4, 0);
            Check();
        }
        apic.Accept(0x50);
        Check();
        apic.NmiPending = true;
        Check();
        Assert.True(apic.TryAcknowledge(out byte vector));
        Assert.Equal(0x50, vector);
        Check();                             // the IRR is empty, the NMI still waits
        apic.NmiPending = false;
        Check();
        apic.Accept(0x60);
        apic.Reset();
        Check();
        Assert.Equal(1 + 300 * 2 + 3 + 1000 * 2 + 5, checks);
    }
}
