namespace Drk.Dispatcher.Tools;

/// <summary>
/// One entry into the kernel: its kind, the vector (the syscall number in RAX for a syscall), the
/// privilege level it came from and the RIP it interrupted (the next instruction for a syscall).
/// </summary>
public readonly record struct KernelEntry(KernelEntryKind Kind, int Vector, int FromCpl, ulong InterruptedRip);
