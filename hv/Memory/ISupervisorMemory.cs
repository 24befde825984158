using Drk.Hv.Cpu;

namespace Drk.Hv.Memory;

/// <summary>
/// Guest memory that can make the processor's implicit supervisor-mode accesses (descriptor
/// tables, the TSS, the stack of an interrupt delivered to ring 0) whatever the current CPL.
/// </summary>
/// <remarks>
/// <see cref="Mmu"/> implements it. Code given a plain <see cref="IGuestMemory"/> without it
/// (test memories without privilege) uses the ordinary accesses instead.
/// </remarks>
public interface ISupervisorMemory : IGuestMemory
{
    /// <summary>As <see cref="IGuestMemory.Read"/>, checked as a supervisor access (a #PF has U/S = 0).</summary>
    bool ReadSupervisor(ulong address, int size, out ulong value, out GuestFault fault);

    /// <summary>As <see cref="IGuestMemory.Write"/>, checked as a supervisor access.</summary>
    bool WriteSupervisor(ulong address, int size, ulong value, out GuestFault fault);
}
