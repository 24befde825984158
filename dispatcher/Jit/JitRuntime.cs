using Drk.Dispatcher.Execution;
using Drk.Dispatcher.Flags;
using Drk.Hv.Cpu;
using Drk.Hv.Memory;

namespace Drk.Dispatcher.Jit;

/// <summary>
/// The machine that one vCPU's compiled blocks run against: its guest memory, the system
/// instructions, the tools' clean-call table and Meta-op handlers, as the interpreter has them.
/// </summary>
/// <remarks>
/// Built from the vCPU's interpreter, it shares that interpreter's clean-call table and Meta-op
/// handlers, so tools register once and both tiers run the same callbacks; built alone, it has an
/// interpreter of its own for the same purpose. Not thread-safe: one per vCPU.
/// </remarks>
public sealed class JitRuntime
{
    /// <summary>A runtime of its own: tools register their callbacks and handlers here.</summary>
    public JitRuntime(IGuestMemory memory, ISystemInstructions? system = null, CleanCallTable? cleanCalls = null, CounterTable? counters = null)
        : this(new IrInterpreter(memory, system, cleanCalls, counters), memory, system)
    {
    }

    /// <summary>A runtime sharing <paramref name="interpreter"/>'s tool callbacks and Meta-op handlers; give it the memory and system instructions the interpreter runs against.</summary>
    public JitRuntime(IrInterpreter interpreter, IGuestMemory memory, ISystemInstructions? system)
    {
        Interpreter = interpreter;
        Memory = memory;
        System = system;
        MachineSystem = system is SystemInstructions own && ReferenceEquals(own.Flags, LazyFlagsAccess.Instance);
        CleanCalls = interpreter.CleanCalls;
        Counters = interpreter.Counters;
    }

    /// <summary>
    /// The interpreter that finishes a block whose compiled code left it in its middle (a soft-TLB
    /// miss: <see cref="CompiledBlock"/>); the vCPU's own, or one of this runtime's.
    /// </summary>
    internal IrInterpreter Interpreter { get; }

    /// <summary>
    /// Compiled traces by the guest RIP they start at, one table per privilege class (traces are
    /// only entered at the CPL they were recorded at): where a trace's exit goes on by itself when
    /// the target is not the one its chain site last went to, an indirect branch that changes
    /// target (a switch, a return to another caller). The run loop fills it
    /// (<see cref="NoteIndirectTarget"/>); the generated code checks an entry as it checks a chain
    /// site's, so a stale entry is never taken.
    /// </summary>
    internal CompiledBlock?[] IndirectTraces(bool user) => user ? _userIndirectTraces : _supervisorIndirectTraces;

    private readonly CompiledBlock?[] _userIndirectTraces = new CompiledBlock?[IndirectTraceCount];
    private readonly CompiledBlock?[] _supervisorIndirectTraces = new CompiledBlock?[IndirectTraceCount];

    /// <summary>Entries per table of <see cref="IndirectTraces"/> (a power of two).</summary>
    internal const int IndirectTraceCount = 1024;

    /// <summary>The index of <paramref name="rip"/> in a table of <see cref="IndirectTraces"/>; the generated code computes the same.</summary>
    internal static int IndirectTraceIndex(ulong rip) => (int)((rip ^ (rip >> 10)) & (IndirectTraceCount - 1));

    /// <summary>
    /// Lets trace exits that reach <paramref name="trace"/>, recorded at <paramref name="cpl"/>, by an
    /// indirect branch or a system jump go on into it inside compiled code (CPL 0 and 3 only: the
    /// tables are by privilege class).
    /// </summary>
    internal void NoteIndirectTarget(CompiledBlock trace, int cpl)
    {
        if (cpl is 0 or 3) IndirectTraces(user: cpl == 3)[IndirectTraceIndex(trace.EntryRip)] = trace;
    }

    /// <summary>Blocks whose compiled code handed them to <see cref="Interpreter"/> in their middle (soft-TLB misses).</summary>
    public long InterpreterResumes { get; internal set; }

    /// <summary>The vCPU's guest memory; an <see cref="Mmu"/> gets the soft-TLB fast path inlined.</summary>
    public IGuestMemory Memory { get; }

    /// <summary>The system-instruction implementation; when null, system instructions raise #UD.</summary>
    public ISystemInstructions? System { get; }

    /// <summary>
    /// <see cref="System"/> is the hypervisor's own <see cref="SystemInstructions"/> over the lazy
    /// flags, so compiled code may do SYSCALL and SYSRET through its shared steps directly
    /// (<see cref="CompiledBlock.FastSyscall"/>) instead of through the interface.
    /// </summary>
    internal bool MachineSystem { get; }

    /// <summary>
    /// The vCPU's local APIC, when the code runs in a machine: compiled traces leave at a block
    /// boundary as soon as it may have an interrupt to deliver (the run loop polls it between
    /// blocks). Null (tests of bare blocks): traces check only their budget.
    /// </summary>
    public Drk.Hv.Devices.LocalApic? Apic { get; init; }

    /// <summary>Reports a user-mode SYSCALL to the tools that want kernel entries (the argument is where SYSRET returns); set by the dispatcher when there are such tools.</summary>
    internal Action<ulong>? SyscallReport { get; set; }

    /// <summary>Where compiled traces give control back (set by the dispatcher before it enters one).</summary>
    public TraceBudget Budget { get; } = new();

    /// <summary>The callbacks CleanCall ops invoke.</summary>
    public CleanCallTable CleanCalls { get; }

    /// <summary>The counters CounterAdd ops add to.</summary>
    public CounterTable Counters { get; }

    /// <summary>Executes Meta ops whose Aux is <paramref name="kind"/> with <paramref name="handler"/> (in the shared interpreter too, when there is one); Meta ops without a handler do nothing and yield 0, as in the interpreter.</summary>
    public void RegisterMetaHandler(byte kind, IMetaOpHandler handler) => Interpreter.RegisterMetaHandler(kind, handler);

    internal IMetaOpHandler? MetaHandler(byte kind) => Interpreter.MetaHandler(kind);
}
