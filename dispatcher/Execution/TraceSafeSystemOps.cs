using Drk.Hv.Cpu;

namespace Drk.Dispatcher.Execution;

/// <summary>
/// Which system instructions a block may hold and still join a trace. Inside a trace, jumps
/// between blocks check the budget, the trace's validity and pending interrupts, but not the CPL,
/// the translation of the code's pages or an interrupt shadow. So a system instruction may run
/// inside a trace only when it can change none of those: it may not switch privilege (SYSCALL,
/// SYSRET, IRET), touch paging or the TLB (CR writes, INVLPG, WRMSR of EFER), open an interrupt
/// shadow (STI, MOV SS), wait (HLT) or reach a device (IN, OUT).
/// </summary>
/// <remarks>
/// CLI is allowed: with interrupts masked a pending one still ends the trace at the next block
/// boundary, the dispatcher finds it cannot be delivered and goes on, exactly as between blocks run
/// alone. On run=all, CLI, SWAPGS and reads of control registers were most of the ~7.6 million
/// blocks that ran alone because of a system instruction.
/// </remarks>
internal static class TraceSafeSystemOps
{
    /// <summary>True when a block holding <paramref name="op"/> may be part of a trace.</summary>
    public static bool Contains(SystemOp op) => op switch
    {
        SystemOp.Cli or SystemOp.Swapgs or SystemOp.ReadCr or SystemOp.Rdtsc or SystemOp.Rdtscp or SystemOp.Cpuid
            or SystemOp.Rdmsr or SystemOp.ReadSegBase or SystemOp.WriteSegBase or SystemOp.Clflush or SystemOp.Str
            or SystemOp.Sgdt or SystemOp.Sidt => true,
        _ => false,
    };
}
