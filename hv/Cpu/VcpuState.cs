namespace Drk.Hv.Cpu;

/// <summary>
/// The architectural state of one virtual CPU that blocks of guest code read and write.
/// </summary>
/// <remarks>
/// User-visible state is a flat array of 64-bit slots (<see cref="GuestReg"/>) so the
/// interpreter indexes it directly and the JIT tier loads and stores array elements.
/// System state (control registers, descriptor tables, MSRs, run state) is in <see cref="Sys"/>.
/// </remarks>
public sealed class VcpuState
{
    /// <summary>Guest-state slots, indexed by <see cref="GuestReg"/> constants.</summary>
    public readonly ulong[] Slots = new ulong[GuestReg.Count];

    /// <summary>Current privilege level (0 kernel, 3 user). Kept equal to the RPL of CS.</summary>
    public int Cpl;

    /// <summary>
    /// Control registers, MSRs, descriptor tables, selectors and run state, owned by the hypervisor
    /// (see <see cref="SystemRegisters"/>).
    /// </summary>
    public readonly SystemRegisters Sys = new();

    /// <summary>
    /// Guest instructions retired by this vCPU. The dispatcher adds each block's instruction count
    /// when the block retires (an instruction that faults has not retired). With
    /// <see cref="IdleTicks"/> it forms the virtual clock: see <see cref="Ticks"/>.
    /// </summary>
    public ulong InstructionsRetired;

    /// <summary>Virtual time spent halted: HLT fast-forward adds the ticks it skips.</summary>
    public ulong IdleTicks;

    /// <summary>
    /// The vCPU's virtual clock in ticks: one tick per retired instruction plus the idle ticks
    /// skipped while halted. One tick is one nanosecond of virtual time; the TSC and the local
    /// APIC timer count in ticks (docs/cpuid.md), so a run is deterministic.
    /// </summary>
    public ulong Ticks => InstructionsRetired + IdleTicks;

    public ulong Rip
    {
        get => Slots[GuestReg.Rip];
        set => Slots[GuestReg.Rip] = value;
    }

    /// <summary>Reads a general-purpose register by its encoding number (0..15).</summary>
    public ulong this[int gpr]
    {
        get => Slots[gpr];
        set => Slots[gpr] = value;
    }

    /// <summary>Copies all slots, the CPL, the system registers and the clock from <paramref name="other"/>.</summary>
    public void CopyFrom(VcpuState other)
    {
        other.Slots.AsSpan().CopyTo(Slots);
        Cpl = other.Cpl;
        Sys.CopyFrom(other.Sys);
        InstructionsRetired = other.InstructionsRetired;
        IdleTicks = other.IdleTicks;
    }
}
