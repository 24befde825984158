using Drk.Hv.Cpu;

namespace Drk.Dispatcher.Execution;

/// <summary>
/// Which system instructions a block may hold and still join a trace. Inside a trace, jumps
/// between blocks check the budget, the trace's validity and pending interrupts, but not the CPL,
/// or the translation of the code's pages. So a system instruction may run inside a trace only
/// when it can change none of those: it may not switch privilege (SYSCALL, SYSRET, IRET), touch
/// paging or the TLB (CR writes, INVLPG, WRMSR of EFER), wait (HLT) or reach a device (IN, OUT).
/// The exception is a trace's last block, after which nothing of the trace runs: it may hold
/// SYSCALL or SYSRET (<see cref="LeavesAlways"/>).
/// </summary>
/// <remarks>
/// <para>
/// CLI is allowed: with interrupts masked a pending one still ends the trace at the next block
/// boundary, the dispatcher finds it cannot be delivered and goes on, exactly as between blocks run
/// alone. On run=all, CLI, SWAPGS and reads of control registers were most of the ~7.6 million
/// blocks that ran alone because of a system instruction.
/// </para>
/// <para>
/// STI is allowed too (the kernel's system-call path enables interrupts early, and a block with
/// STI used to split every system call into blocks run alone). Its block ends after it, so the
/// shadow it opens covers the next block's first instruction: at the boundary a pending interrupt
/// still ends the trace and the dispatcher, seeing the shadow, runs one block before delivering;
/// when compiled code goes on instead (a jump inside the trace, a chain to another trace) it
/// clears the shadow as the dispatcher does when a block starts (IlTraceEmitter, the chain loop).
/// MOV SS and POP SS, which also open one, stay out: rare, and not worth a second case.
/// </para>
/// </remarks>
internal static class TraceSafeSystemOps
{
    /// <summary>True when a block holding <paramref name="op"/> may be part of a trace.</summary>
    public static bool Contains(SystemOp op) => op switch
    {
        SystemOp.Cli or SystemOp.Sti or SystemOp.Swapgs or SystemOp.ReadCr or SystemOp.Rdtsc or SystemOp.Rdtscp or SystemOp.Cpuid
            or SystemOp.Rdmsr or SystemOp.ReadSegBase or SystemOp.WriteSegBase or SystemOp.Clflush or SystemOp.Str
            or SystemOp.Sgdt or SystemOp.Sidt => true,
        _ => false,
    };

    /// <summary>
    /// True for the system instructions that never go on in their block: they jump (changing the
    /// privilege level) or fault. A block holding them may end a trace, the trace leaving through
    /// them as the block would alone: the system-call path's SYSCALL and SYSRET then run inside the
    /// traces that lead to them instead of in blocks of their own.
    /// </summary>
    public static bool LeavesAlways(SystemOp op) => op is SystemOp.Syscall or SystemOp.Sysretq;
}
