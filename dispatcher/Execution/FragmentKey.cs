namespace Drk.Dispatcher.Execution;

/// <summary>What identifies a fragment in a vCPU's code cache: guest RIP, physical address of its first byte, and CPL.</summary>
/// <remarks>
/// The physical address tells apart the same virtual address under different page tables (two
/// address spaces, a module loaded where another was); the CPL, because the lowering depends on it.
/// </remarks>
internal readonly record struct FragmentKey(ulong Rip, ulong PhysicalAddress, int Cpl);
