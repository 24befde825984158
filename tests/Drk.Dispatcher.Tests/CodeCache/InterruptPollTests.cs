using System.Reflection;
using Drk.Dispatcher.Execution;
using Drk.Hv.Cpu;
using Drk.Hv.Devices;

namespace Drk.Dispatcher.Tests.CodeCache;

/// <summary>
/// The dispatch loop's and the traces' inline interrupt test reads the APIC's fields directly; it
/// must say exactly what <see cref="LocalApic.MayHaveInterrupt"/> says, and the fields must exist.
/// </summary>
public sealed class InterruptPollTests
{
    [Fact]
    public void The_fields_read_inline_exist()
    {
        const BindingFlags flags = BindingFlags.Instance | BindingFlags.NonPublic;
        Assert.Equal(typeof(int), typeof(LocalApic).GetField(InterruptPoll.IrrCountField, flags)?.FieldType);
        Assert.Equal(typeof(ulong), typeof(LocalApic).GetField(InterruptPoll.ExpiryField, flags)?.FieldType);
        Assert.Equal(typeof(bool), typeof(LocalApic).GetField(InterruptPoll.NmiPendingField, flags)?.FieldType);
    }

    [Fact]
    public void The_inline_test_agrees_with_the_apic_through_timer_ipis_and_nmis()
    {
        var clock = new VcpuState();
        var apic = new LocalApic(0, clock);
        int checks = 0;
        void Check()
        {
            Assert.Equal(apic.MayHaveInterrupt, InterruptPoll.MayHaveInterrupt(apic, clock));
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
        apic.Accept(0x50);
        Check();
        apic.NmiPending = true;
        Check();
        Assert.Equal(1 + 300 * 2 + 2, checks);
    }
}
