using System.Runtime.CompilerServices;
using Drk.Hv.Cpu;
using Drk.Hv.Devices;

namespace Drk.Dispatcher.Execution;

/// <summary>
/// <see cref="LocalApic.MayHaveInterrupt"/> inline, for the dispatch loop's test at every block
/// boundary: an IRR bit, an NMI, or the timer's expiry reached by the clock. The property was not
/// inlined and cost 8% of a run=all on the JIT tier; this reads the same fields (through
/// <see cref="UnsafeAccessorAttribute"/>, no reflection at run time) and must stay equal to it
/// (tested against it).
/// </summary>
internal static class InterruptPoll
{
    /// <summary>The field names the JIT tier reads inline in traces (<c>IlTraceEmitter</c>).</summary>
    public const string IrrCountField = "_irrCount";

    /// <summary>See <see cref="IrrCountField"/>.</summary>
    public const string ExpiryField = "_expiry";

    /// <summary>See <see cref="IrrCountField"/>.</summary>
    public const string NmiPendingField = "_nmiPending";

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = IrrCountField)]
    private static extern ref int IrrCount(LocalApic apic);

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = ExpiryField)]
    private static extern ref ulong Expiry(LocalApic apic);

    /// <summary>Exactly <c>apic.MayHaveInterrupt</c> for the APIC whose clock is <paramref name="clock"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool MayHaveInterrupt(LocalApic apic, VcpuState clock) =>
        IrrCount(apic) != 0 || apic.NmiPending || clock.InstructionsRetired + clock.IdleTicks >= Expiry(apic);
}
