namespace Drk.Hv.Cpu;

/// <summary>
/// The architectural state of one virtual CPU that blocks of guest code read and write.
/// </summary>
/// <remarks>
/// User-visible state is a flat array of 64-bit slots (<see cref="GuestReg"/>) so the
/// interpreter indexes it directly and the JIT tier loads and stores array elements.
/// System state (control registers, descriptor tables, MSRs) is added by the hypervisor.
/// </remarks>
public sealed class VcpuState
{
    /// <summary>Guest-state slots, indexed by <see cref="GuestReg"/> constants.</summary>
    public readonly ulong[] Slots = new ulong[GuestReg.Count];

    /// <summary>Current privilege level (0 kernel, 3 user).</summary>
    public int Cpl;

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

    /// <summary>Copies all slots and the CPL from <paramref name="other"/>.</summary>
    public void CopyFrom(VcpuState other)
    {
        other.Slots.AsSpan().CopyTo(Slots);
        Cpl = other.Cpl;
    }
}
