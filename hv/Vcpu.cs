using Drk.Hv.Cpu;
using Drk.Hv.Devices;
using Drk.Hv.Memory;

namespace Drk.Hv;

/// <summary>
/// One virtual CPU of a <see cref="Machine"/>: its state, MMU, local APIC, system-instruction
/// implementation and event delivery, plus the run loop's interrupt and halt hooks.
/// </summary>
/// <remarks>
/// <para>The run loop uses a vCPU like this:</para>
/// <code>
/// while (!machine.Stop.IsRequested) {
///     if (vcpu.State.Sys.Halted) { if (!vcpu.TryWake()) { /* idle: FastForwardToDeadline, or run another vCPU */ } continue; }
///     run one block (it retires n instructions: State.InstructionsRetired += n);
///     on a fault: vcpu.DeliverFault(fault); on INT n: vcpu.DeliverSoftwareInterrupt(n, nextRip);
///     if (vcpu.Apic.MayHaveInterrupt) vcpu.TryDeliverInterrupt();   // block boundary
///     clear State.Sys.InterruptShadow once an instruction has retired after STI / MOV SS
/// }
/// </code>
/// <para>A triple fault requests the machine's stop with a state dump; delivery methods report it too.</para>
/// </remarks>
public sealed class Vcpu
{
    private readonly MachineStop _stop;
    private readonly IFlagsAccess _flags;

    internal Vcpu(int index, PhysicalMemory memory, IFlagsAccess flags, IApicBus bus, IoPortBus ports,
        MachineStop stop, CpuidTable cpuid, UnhandledAccessLog log)
    {
        Index = index;
        _stop = stop;
        _flags = flags;
        State = new VcpuState();
        Mmu = new Mmu(memory, State);
        Apic = new LocalApic((byte)index, State, bus);
        Mmu.MapLocalMmio(LocalApic.DefaultBase, LocalApic.MmioLength, Apic);
        State.Sys.ApicBase = LocalApic.DefaultBase | Msr.ApicBaseEnable | (index == 0 ? Msr.ApicBaseBsp : 0);
        System = new SystemInstructions(flags) { Cpuid = cpuid, Ports = ports, Stop = stop, Mmu = Mmu, Apic = Apic, Log = log };
        WaitingForStartup = index != 0;
    }

    /// <summary>The vCPU number, equal to its APIC ID.</summary>
    public int Index { get; }

    public VcpuState State { get; }

    /// <summary>The vCPU's guest memory (<see cref="IGuestMemory"/>) and soft TLB.</summary>
    public Mmu Mmu { get; }

    public LocalApic Apic { get; }

    /// <summary>Pass to the execution core as its <see cref="ISystemInstructions"/>.</summary>
    public SystemInstructions System { get; }

    /// <summary>IDT delivery and IRETQ for this vCPU.</summary>
    public InterruptDelivery Delivery => System.Delivery;

    /// <summary>
    /// An application processor that has not been started: it runs nothing until a STARTUP IPI
    /// is handled (see <see cref="Machine.StartupIpi"/>). INIT puts a vCPU back in this state.
    /// </summary>
    public bool WaitingForStartup { get; set; }

    /// <summary>
    /// Raised before each delivery through the IDT (exception, INT n, external interrupt, NMI),
    /// with the kind, the vector, and the RIP the frame will return to, while the state is still
    /// the interrupted one. Observers (tools' kernel-entry events) must not change guest state.
    /// </summary>
    public event Action<Vcpu, InterruptKind, byte, ulong>? Delivering;

    /// <summary>Delivers the exception <paramref name="fault"/>; the state must be the faulting instruction's (RIP included).</summary>
    public DeliveryOutcome DeliverFault(in GuestFault fault)
    {
        Delivering?.Invoke(this, InterruptKind.Exception, (byte)fault.Vector, fault.Rip);
        return Check(Delivery.DeliverException(State, Mmu, fault), fault.ToString());
    }

    /// <summary>Delivers INT <paramref name="vector"/> (state RIP = the INT instruction, frame RIP = <paramref name="nextRip"/>).</summary>
    public DeliveryOutcome DeliverSoftwareInterrupt(byte vector, ulong nextRip)
    {
        Delivering?.Invoke(this, InterruptKind.SoftwareInterrupt, vector, nextRip);
        return Check(Delivery.DeliverSoftwareInterrupt(State, Mmu, vector, nextRip), $"INT {vector:x2}");
    }

    /// <summary>
    /// At a block boundary: delivers a pending NMI, or the local APIC's highest deliverable
    /// interrupt when RFLAGS.IF is set and no interrupt shadow is active. Returns true when
    /// something was delivered (RIP is now a handler) or the delivery triple-faulted.
    /// </summary>
    public bool TryDeliverInterrupt()
    {
        var sys = State.Sys;
        if (Apic.NmiPending && !sys.NmiBlocked)
        {
            Apic.NmiPending = false;
            Delivering?.Invoke(this, InterruptKind.Nmi, 2, State.Rip);
            Check(Delivery.DeliverNmi(State, Mmu), "NMI");
            return true;
        }
        if (!CanTakeInterrupt || Apic.PendingVector() < 0) return false;
        Apic.TryAcknowledge(out byte vector);
        Delivering?.Invoke(this, InterruptKind.External, vector, State.Rip);
        Check(Delivery.DeliverExternalInterrupt(State, Mmu, vector), $"interrupt {vector:x2}");
        return true;
    }

    /// <summary>True when maskable interrupts may be taken now: IF set and no interrupt shadow.</summary>
    public bool CanTakeInterrupt =>
        (State.Slots[GuestReg.FlagsOther] & Rflags.IF) != 0 && !State.Sys.InterruptShadow;

    /// <summary>For a halted vCPU: delivers what wakes it (NMI, or an interrupt with IF set). True when it now runs.</summary>
    public bool TryWake() => TryDeliverInterrupt() && !State.Sys.Halted;

    /// <summary>
    /// The virtual tick at which this halted vCPU will have something to do without outside help
    /// (its APIC timer's next interrupt), or <see cref="ulong.MaxValue"/> for never. With IF clear
    /// a timer interrupt cannot wake it, so there is no deadline.
    /// </summary>
    public ulong NextDeadline =>
        (State.Slots[GuestReg.FlagsOther] & Rflags.IF) != 0 ? Apic.NextTimerDeadline : ulong.MaxValue;

    /// <summary>
    /// HLT fast-forward: advances the clock (<see cref="VcpuState.IdleTicks"/>) of a halted vCPU to
    /// <see cref="NextDeadline"/> when that is in the future. Returns false when there is no
    /// deadline (only an IPI can wake the vCPU). Then call <see cref="TryWake"/>.
    /// </summary>
    public bool FastForwardToDeadline()
    {
        ulong deadline = NextDeadline;
        if (deadline == ulong.MaxValue) return false;
        ulong now = State.Ticks;
        if (deadline > now) State.IdleTicks += deadline - now;
        return true;
    }

    /// <summary>Advances the clock of a halted vCPU by <paramref name="ticks"/> (idle time while other vCPUs run).</summary>
    public void AdvanceIdle(ulong ticks) => State.IdleTicks += ticks;

    /// <summary>Puts the vCPU in the INIT state: APIC reset, waiting for STARTUP.</summary>
    public void Init()
    {
        Apic.Reset();
        State.Sys.Halted = false;
        WaitingForStartup = true;
    }

    private DeliveryOutcome Check(DeliveryOutcome outcome, string what)
    {
        if (outcome == DeliveryOutcome.TripleFault)
            _stop.Request(MachineStopReason.TripleFault, 0,
                $"vCPU {Index} triple fault delivering {what}\n{VcpuStateDump.Format(State, _flags)}");
        return outcome;
    }
}
