namespace Drk.Dispatcher.Tools;

/// <summary>
/// One switch of kernel threads on a vCPU, as the kernel's stack switch begins: the stack pointer
/// of the thread switched out (pointing at the return address of its call to the switch), the
/// stack pointer the switch loads (the saved stack of the thread switched in), and the page-table
/// root (CR3) the vCPU runs with, already the incoming thread's.
/// </summary>
public readonly record struct ContextSwitch(ulong FromRsp, ulong ToRsp, ulong AddressSpace);
