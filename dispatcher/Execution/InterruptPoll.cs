using System.Runtime.CompilerServices;
using Drk.Hv.Cpu;
using Drk.Hv.Devices;

namespace Drk.Dispatcher.Execution;

/// <summary>
/// <see cref="LocalApic.MayHaveInterrupt"/> inline, for the dispatch loop's test at every block
/// boundary: the clock has reached the APIC's poll point (0 while an IRR bit or an NMI waits, else
/// the timer's expiry). The property was not inlined and cost 8% of a run=all on the JIT tier; this
/// reads the same field (through <see cref="UnsafeAccessorAttribute"/>, no reflection at run time)
/// and must stay equal to it (tested against the APIC's own state).
/// </summary>
internal static class InterruptPoll
{
    /// <summary>The field the JIT tier reads inline in traces (<c>IlTraceEmitter</c>).</summary>
    public const string PollAtField = "_pollAt";

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = PollAtField)]
    private static extern ref ulong PollAt(LocalApic apic);

    /// <summary>Exactly <c>apic.MayHaveInterrupt</c> for the APIC whose clock is <paramref name="clock"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool MayHaveInterrupt(LocalApic apic, VcpuState clock) =>
        clock.InstructionsRetired + clock.IdleTicks >= PollAt(apic);

    /// <summary>
    /// The retired count from which <see cref="MayHaveInterrupt"/> holds while the idle ticks stand
    /// still (as they do while a trace runs): the stop compiled traces test at their block boundaries.
    /// </summary>
    public static ulong PollRetired(LocalApic apic, VcpuState clock)
    {
        ulong poll = PollAt(apic), idle = clock.IdleTicks;
        return poll > idle ? poll - idle : 0;
    }
}
