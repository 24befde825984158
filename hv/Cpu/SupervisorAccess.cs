using Drk.Hv.Memory;

namespace Drk.Hv.Cpu;

/// <summary>
/// The processor's implicit supervisor-mode accesses (GDT, IDT, TSS, ring-0 stack pushes) made
/// through whatever <see cref="IGuestMemory"/> the caller has: <see cref="ISupervisorMemory"/>
/// when it offers it, ordinary accesses otherwise.
/// </summary>
internal static class SupervisorAccess
{
    public static bool Read(IGuestMemory memory, ulong address, int size, out ulong value, out GuestFault fault) =>
        memory is ISupervisorMemory s
            ? s.ReadSupervisor(address, size, out value, out fault)
            : memory.Read(address, size, out value, out fault);

    public static bool Write(IGuestMemory memory, ulong address, int size, ulong value, out GuestFault fault) =>
        memory is ISupervisorMemory s
            ? s.WriteSupervisor(address, size, value, out fault)
            : memory.Write(address, size, value, out fault);

    /// <summary>Reads the 8-byte GDT descriptor of <paramref name="selector"/> (TI must be 0); faults are #GP(selector) or the memory fault.</summary>
    public static bool ReadGdt(VcpuState state, IGuestMemory memory, ushort selector, uint extBit,
        out SegmentDescriptor descriptor, out GuestFault fault)
    {
        descriptor = default;
        uint offset = (uint)selector & ~7u;
        if ((selector & 4) != 0 || offset + 7 > state.Sys.Gdtr.Limit)
        {
            fault = GuestFault.GeneralProtection(((uint)selector & 0xFFFC) | extBit);
            return false;
        }
        if (!Read(memory, state.Sys.Gdtr.Base + offset, 8, out ulong raw, out fault)) return false;
        descriptor = new SegmentDescriptor(raw);
        return true;
    }
}
