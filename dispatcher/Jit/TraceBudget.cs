namespace Drk.Dispatcher.Jit;

/// <summary>
/// What compiled traces and the run loop share per vCPU: where traces must give control back (a
/// retired-instruction count that traces check at every block boundary, so they stop exactly where
/// the run loop would have looked between blocks), and what a run of compiled code did when traces
/// went on into one another by themselves.
/// </summary>
public sealed class TraceBudget
{
    /// <summary>
    /// Traces leave at the first block boundary where <c>VcpuState.InstructionsRetired</c> has reached
    /// this: set by the dispatcher at entry to the round's end or, sooner, the APIC's poll point;
    /// lowered by calls out of the trace (<c>CompiledBlock.TightenStop</c>), to 0 when the trace died.
    /// </summary>
    public ulong StopRetired;

    /// <summary>The code running now or last: set by <see cref="CompiledBlock"/> when a run starts, and by a trace that chains into another.</summary>
    internal CompiledBlock? Current;

    /// <summary>Trace-to-trace transfers made inside compiled code since the run loop last took the count.</summary>
    internal long Chains;

    /// <summary>
    /// A trace whose code went on into <see cref="JoinTo"/> by itself often enough to be joined with
    /// it (<see cref="TraceChainStub"/>); the run loop takes the request and clears both.
    /// </summary>
    internal CompiledBlock? JoinFrom;

    /// <summary>See <see cref="JoinFrom"/>.</summary>
    internal CompiledBlock? JoinTo;

    /// <summary>The chain site of the trace exit a run left through, or -1 (not a chainable exit of a trace).</summary>
    internal int ExitSite = -1;

    /// <summary>
    /// The block a trace is entered at when not its head (<see cref="CompiledBlock.RunFrom"/>); 0
    /// for the head. The trace reads it on entry and sets it back to 0, so chained entries start at
    /// their heads.
    /// </summary>
    internal int EntrySection;

    /// <summary>
    /// Whether a trace that leaves through SYSCALL or SYSRET may go on by itself into the trace
    /// where the jump lands (<c>IlTraceEmitter.EmitSystemJumpChain</c>): set by the dispatcher, false
    /// while a tool wants to see kernel entries (the dispatch loop reports them).
    /// </summary>
    internal bool SystemJumpsChain;

    /// <summary>
    /// Whether a tool wants kernel entries: a trace that goes on across a user-mode SYSCALL by
    /// itself then reports it first (<c>CompiledBlock.ReportSyscall</c>), as the dispatch loop
    /// would, and sets <see cref="SyscallReported"/>.
    /// </summary>
    internal bool ReportSyscalls;

    /// <summary>
    /// Set when compiled code reported the SYSCALL that ended its run (then did not go on after
    /// all): the dispatch loop must not report it again, and clears it.
    /// </summary>
    internal bool SyscallReported;

    /// <summary>
    /// The retired count where the instructions of the running code's privilege level began: set by
    /// the dispatcher when it enters a trace, moved by a trace that goes on across SYSCALL or SYSRET,
    /// which adds the kernel instructions of the level it leaves to <see cref="KernelRetiredBeforeLevel"/>.
    /// So the dispatcher's count of kernel instructions stays exact.
    /// </summary>
    internal ulong LevelStart;

    /// <summary>Kernel instructions retired at earlier privilege levels of the running code (see <see cref="LevelStart"/>); the dispatcher takes them.</summary>
    internal ulong KernelRetiredBeforeLevel;

    /// <summary>REP STOS and REP MOVS iterations traces did in bulk (<see cref="BulkString"/>), for the statistics.</summary>
    public long BulkIterations;
}
