using System.Runtime.CompilerServices;
using Drk.Dispatcher.Execution;
using Drk.Dispatcher.Flags;
using Drk.Dispatcher.IR;
using Drk.Hv.Cpu;
using Drk.Hv.Memory;

namespace Drk.Dispatcher.Jit;

/// <summary>
/// One guest block compiled to a .NET method by <see cref="IlCompiler"/>. Executing it has exactly
/// the effect of <see cref="IrInterpreter.Execute"/> on the same block: guest state, memory,
/// <see cref="BlockResult"/> and the retired count.
/// </summary>
/// <remarks>
/// <para>
/// The object is the generated method's first argument (the delegate is closed over it): the
/// method reads the typed memory from it and calls its out-of-line paths (faults, system
/// instructions, tool calls), which use its scratch fields so the method itself never takes the
/// address of a local; a TLB miss leaves the method instead and <see cref="Run"/> has the
/// interpreter finish the block (<see cref="ResumeExit"/>). Not thread-safe: it runs on its vCPU's
/// thread only.
/// </para>
/// <para>
/// The method returns an int, not a <see cref="BlockResult"/>: the number of one of the block's
/// exits, whose results are built once at compile time, -1 when an out-of-line path left the
/// whole result (with its fault) in <see cref="Result"/>, or below that an op to resume the block
/// at in the interpreter (<see cref="ResumeExit"/>). Building a fresh 48-byte struct per
/// execution cost more than a small block's own work (RyuJIT zeroes and copies it through
/// temporaries, and the copies stall on store forwarding).
/// </para>
/// </remarks>
public sealed class CompiledBlock
{
    private Func<VcpuState, int> _code = null!;
    private BlockResult[] _exits = [];

    // Read by generated code: the concrete memory (one of these is set, by the access path chosen),
    // the state whose CPL selects the TLB, and scratch for out-parameters of the slow paths.
    internal readonly Mmu? Mmu;
    internal readonly FlatMemory? Flat;
    internal readonly IGuestMemory Memory;
    internal readonly VcpuState? MmuState;
    internal readonly CleanCallTable CleanCalls;
    // The code adds to counters at their fixed addresses; this keeps their table (and chunks) alive with it.
    internal readonly CounterTable Counters;
    internal ulong Value;
    internal GuestFault Fault;
    internal BlockResult Result;

    // Traces: the block running now (kept current by the generated code at every jump between
    // blocks), cleared validity (the trace died: leave at the next block boundary), where the run
    // loop wants control back, and the APIC whose pending interrupts end the trace at a boundary.
    internal int Section;
    internal bool TraceValid = true;
    internal readonly TraceBudget Limits;
    internal readonly Drk.Hv.Devices.LocalApic? Apic;

    // Trace chaining (IlTraceEmitter): the guest RIP this code starts at, the trace it is the code
    // of, and per chain site (a trace exit that leaves the trace) the trace that exit went on to
    // last, which the generated code enters by itself when it is still valid for that exit.
    internal readonly ulong EntryRip;
    internal Trace? Owner;
    internal CompiledBlock?[] ChainTargets = [];

    // For the chain stub (TraceChainStub): the table of traces by entry RIP its chain sites look in
    // when their last target does not start at the exit's RIP (the trace's own privilege class's;
    // null when the trace may run at either), and whether a chain ends an interrupt shadow (a block
    // of the trace may open one with STI).
    internal CompiledBlock?[]? ChainTable;
    internal bool ChainClearsShadow;

    /// <summary>Chains that go on from this trace's code before it asks to be joined with the trace the last one went into (<see cref="TraceBudget.JoinFrom"/>).</summary>
    internal const int ChainsBeforeJoin = 4096;

    /// <summary>Counted down by each chain that goes on (generated code); the one that reaches 0 asks for a join.</summary>
    internal int JoinCountdown = ChainsBeforeJoin;

    /// <summary>The retired count when <see cref="JoinCountdown"/> was last set (first at compile time): a join is worth its compilation only when the chains came densely (<c>VcpuDispatcher.JoinWindow</c>).</summary>
    internal ulong JoinCountFrom;

    // The runtime's tables of traces by entry RIP (JitRuntime.IndirectTraces): chain sites look in
    // their trace's own privilege class's when their last target does not start at the exit's RIP,
    // a trace that leaves through SYSCALL or SYSRET in the other one's.
    internal readonly CompiledBlock?[] UserTraces;
    internal readonly CompiledBlock?[] SupervisorTraces;

    private readonly JitRuntime _runtime;
    private readonly IrBlock[] _sections;

    internal CompiledBlock(IrBlock block, JitRuntime runtime) : this([block], runtime)
    {
    }

    internal CompiledBlock(IrBlock[] sections, JitRuntime runtime)
    {
        Main = this;
        _sections = sections;
        Block = sections[0];
        EntryRip = Block.StartRip;
        Limits = runtime.Budget;
        Apic = runtime.Apic;
        _runtime = runtime;
        Memory = runtime.Memory;
        Mmu = runtime.Memory as Mmu;
        Flat = runtime.Memory as FlatMemory;
        MmuState = Mmu?.State;
        // Read from the compiler thread while the vCPU runs: any recent value will do.
        JoinCountFrom = MmuState?.InstructionsRetired ?? 0;
        CleanCalls = runtime.CleanCalls;
        Counters = runtime.Counters;
        UserTraces = runtime.IndirectTraces(user: true);
        SupervisorTraces = runtime.IndirectTraces(user: false);
    }

    /// <summary>
    /// The code of <paramref name="main"/>'s trace entered at block <paramref name="entry"/> (not
    /// its head): what a chain site or the indirect-branch table holds for a block that has no
    /// trace of its own but runs inside one. Generated code that chains into it checks and runs
    /// <see cref="Main"/>, told where to start through the budget; only its RIP is its own.
    /// </summary>
    private CompiledBlock(CompiledBlock main, int entry) : this(main._sections, main._runtime)
    {
        Main = main;
        Entry = entry;
        EntryRip = main._sections[entry].StartRip;
        Owner = main.Owner;
    }

    /// <summary>The code that runs when this is entered: this one, or for an entry at a later block of a trace (<see cref="EntryAt"/>) the trace's own.</summary>
    internal readonly CompiledBlock Main;

    /// <summary>The block of <see cref="Main"/>'s trace this enters at: 0 (the head), or a later block for an entry made by <see cref="EntryAt"/>.</summary>
    internal readonly int Entry;

    // The entries at later blocks made so far, by block (vCPU thread only).
    private CompiledBlock?[]? _entries;

    /// <summary>This trace's code entered at block <paramref name="section"/>: itself for 0, else one made once per block (see the private constructor).</summary>
    internal CompiledBlock EntryAt(int section)
    {
        if (section == 0) return this;
        _entries ??= new CompiledBlock?[_sections.Length];
        return _entries[section] ??= new CompiledBlock(this, section);
    }

    /// <summary>Runs the code from <see cref="Entry"/>: <see cref="Run"/> of <see cref="Main"/>, at the entry block.</summary>
    internal ref readonly BlockResult Enter(VcpuState state) =>
        ref Entry == 0 ? ref Run(state) : ref Main.RunFrom(state, Entry);

    /// <summary>The block this code was compiled from (a trace's head).</summary>
    public IrBlock Block { get; }

    /// <summary>Blocks compiled into this code: 1, or a trace's length.</summary>
    public int SectionCount => _sections.Length;

    /// <summary>After <see cref="Execute"/> of a trace: the index of the block the trace left from (its result belongs to that block). When traces chained, ask the last one (<see cref="TraceBudget.Current"/>).</summary>
    public int ExitSection => Section;

    /// <summary>Out-of-line paths get a block's guest-instruction or op index with the trace section above bit 16.</summary>
    internal const int SectionShift = 16;

    private IrBlock SectionBlock(ref int index)
    {
        int section = index >> SectionShift;
        index &= (1 << SectionShift) - 1;
        return _sections[section];
    }

    /// <summary>Size of the generated IL in bytes.</summary>
    public int IlSize { get; internal set; }

    /// <summary>Time spent emitting IL and creating the delegate, and running RyuJIT on it (the first call is made at compile time with a null state, which returns at once).</summary>
    public TimeSpan CompileTime { get; internal set; }

    internal void SetCode(Func<VcpuState, int> code, BlockResult[] exits, int chainSites = 0)
    {
        _code = code;
        _exits = exits;
        if (chainSites > 0) ChainTargets = new CompiledBlock?[chainSites];
    }

    /// <summary>
    /// Lets chain site <paramref name="site"/> of this trace go on into <paramref name="target"/>
    /// by itself from now on (the run loop has just checked that it may; the generated code checks
    /// again, each time, everything that can change: validity, RIP, translation generation).
    /// </summary>
    internal void ChainTo(int site, CompiledBlock target)
    {
        if ((uint)site < (uint)ChainTargets.Length) ChainTargets[site] = target;
    }

    /// <summary>
    /// Executes the block from its first op until it leaves, says why, and adds the instructions it
    /// retired to <see cref="VcpuState.InstructionsRetired"/>, as <see cref="IrInterpreter.Execute"/> does.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public BlockResult Execute(VcpuState state) => Run(state);

    /// <summary>
    /// <see cref="Run"/> of a trace entered at block <paramref name="section"/> instead of its head,
    /// as though the trace had got there itself: the dispatcher runs a block that belongs to a
    /// compiled trace inside the trace rather than alone.
    /// </summary>
    internal ref readonly BlockResult RunFrom(VcpuState state, int section)
    {
        Limits.EntrySection = section;
        return ref Run(state);
    }

    /// <summary>
    /// <see cref="Execute"/> answering a reference to the result (one of the exits built at compile
    /// time, or <see cref="Result"/>) instead of a copy: the dispatch loop reads a few fields of it
    /// per block, and copying the 48-byte struct cost more than that. Valid until the next run.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ref readonly BlockResult Run(VcpuState state)
    {
        var limits = Limits;
        limits.Current = this;
        limits.ExitSite = -1;
        int exit = _code(state);
        // A trace may have gone on into other traces: the result is the last one's.
        var last = limits.Current;
        // The interpreter that finishes a block adds its count itself.
        if (exit < ResultInField) return ref last.FinishInInterpreter(state, ResumeOp(exit));
        ref readonly var result = ref exit >= 0 ? ref last._exits[exit] : ref last.Result;
        state.InstructionsRetired += (ulong)result.Retired;
        return ref result;
    }

    /// <summary>What generated code returns when the block's result is in <see cref="Result"/>.</summary>
    internal const int ResultInField = -1;

    /// <summary>
    /// What generated code returns to hand the running block over to the interpreter at op
    /// <paramref name="sectionOp"/> (the op index with the trace section above
    /// <see cref="SectionShift"/>), having stored the block's live temps at
    /// <see cref="IrInterpreter.TempsAddress"/>: a soft-TLB miss. The miss leaves the method
    /// instead of calling out of it, so no value of the compiled code lives across a call.
    /// </summary>
    internal static int ResumeExit(int sectionOp) => -2 - sectionOp;

    private static int ResumeOp(int exit) => -2 - exit;

    // ---- out-of-line paths called by the generated code; each mirrors the interpreter ------------

    // Each ends the block: it leaves the result in Result and returns ResultInField, which the
    // generated code returns.

    /// <summary>A faulting Load/Store: <see cref="Fault"/> holds what the memory reported.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal int MemoryFault(VcpuState state, int guest) => FaultAt(state, guest, Fault);

    /// <summary>
    /// Runs the rest of the block from the op the generated code left at (<see cref="ResumeExit"/>;
    /// <see cref="Section"/> already names the block in a trace) on the interpreter, which does what
    /// the missed access needs (refill, page crossing, MMIO, a write to watched code, a fault) and
    /// everything after it, adding the block's count to the clock as it does for any block; its
    /// result becomes <see cref="Result"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ref readonly BlockResult FinishInInterpreter(VcpuState state, int sectionOp)
    {
        var block = SectionBlock(ref sectionOp);
        Result = _runtime.Interpreter.ResumeAt(block, state, sectionOp);
        _runtime.InterpreterResumes++;
        return ref Result;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal int DivideError(VcpuState state, int guest) => FaultAt(state, guest, GuestFault.DivideError());

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal int Raise(VcpuState state, int guest, int vector, ulong imm)
    {
        var fault = new GuestFault
        {
            Vector = (ExceptionVector)vector,
            HasErrorCode = (imm >> 32) != 0,
            ErrorCode = (uint)imm,
        };
        return FaultAt(state, guest, fault);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal int SoftInt(VcpuState state, int guest, int vector, ulong imm)
    {
        SectionBlock(ref guest);
        state.Rip = imm;
        Result = new BlockResult(BlockEnd.SoftInt, guest + 1, new GuestFault { Vector = (ExceptionVector)vector, Rip = imm });
        return ResultInField;
    }

    /// <summary>
    /// Runs System op number <paramref name="opIndex"/>; true when the block goes on (its value is
    /// in <see cref="Value"/>), false when it ends with <see cref="Result"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal bool System(VcpuState state, int opIndex, ulong a, ulong b)
    {
        int sectionOp = opIndex;
        var block = SectionBlock(ref opIndex);
        // References, not copies, and the fault straight into the Fault field: this runs for every
        // CLI, STI and SWAPGS of the kernel's system-call path, and a GuestFault local (it holds a
        // reference) had RyuJIT clear a few hundred bytes of stack on every call.
        ref readonly var op = ref block.Ops[opIndex];
        var system = _runtime.System;
        if (system is null)
        {
            Fault = GuestFault.InvalidOpcode();
            return SystemEnded(state, sectionOp, SystemOutcome.Fault);
        }
        // As in the interpreter: the hypervisor sees RIP of the instruction and a clock that counts
        // the instructions of this block that retired before it.
        state.Rip = block.Instructions[op.Guest].Rip;
        state.InstructionsRetired += op.Guest;
        var outcome = system.Execute((SystemOp)op.Aux, state, Memory, a, b, out ulong value, out Fault);
        state.InstructionsRetired -= op.Guest;
        if (outcome == SystemOutcome.Continue)
        {
            TightenStop(state);
            Value = value;
            return true;
        }
        // SYSCALL and SYSRET of every system call: here rather than through SystemEnded, which
        // would look the block and the op up again.
        if (outcome == SystemOutcome.Jump)
        {
            Result = new BlockResult(BlockEnd.SystemJump, op.Guest + 1);
            return false;
        }
        return SystemEnded(state, sectionOp, outcome);
    }

    /// <summary>
    /// SYSCALL of the machine's own system (<see cref="JitRuntime.MachineSystem"/>) when it does not
    /// fault: the hypervisor's steps (<see cref="SystemInstructions.EnterSyscall"/>) without the
    /// interface call, the op look-up and the switch of <see cref="System"/>, which the kernel's
    /// system-call path paid twice per call. Ends the block as <see cref="System"/> would (a
    /// <see cref="BlockEnd.SystemJump"/> after <paramref name="retired"/> instructions); false,
    /// changing nothing, when <see cref="System"/> must do it (no such system, or it would fault).
    /// </summary>
    internal bool FastSyscall(VcpuState state, ulong nextRip, int retired)
    {
        if (!_runtime.MachineSystem || SystemInstructions.SyscallFaults(state)) return false;
        var flags = LazyFlagsAccess.Instance;
        flags.WriteRflags(state, SystemInstructions.EnterSyscall(state, nextRip, flags.ReadRflags(state)));
        Result = new BlockResult(BlockEnd.SystemJump, retired);
        return true;
    }

    /// <summary>SYSRET, as <see cref="FastSyscall"/> does SYSCALL (false when it would fault).</summary>
    internal bool FastSysret(VcpuState state, int retired)
    {
        if (!_runtime.MachineSystem || SystemInstructions.SysretFaults(state)) return false;
        LazyFlagsAccess.Instance.WriteRflags(state, SystemInstructions.LeaveSysret(state));
        Result = new BlockResult(BlockEnd.SystemJump, retired);
        return true;
    }

    /// <summary>
    /// Reports the user-mode SYSCALL this trace's block just ran to the tools (a trace about to go
    /// on by itself into the kernel's trace, <c>IlTraceEmitter.EmitSystemJumpChain</c>), with the
    /// block's <paramref name="retired"/> instructions on the clock, as the dispatch loop reports it
    /// after the block; notes that it did, and lowers the stop if the tools changed what the run
    /// loop would check.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal void ReportSyscall(VcpuState state, ulong nextRip, int retired)
    {
        Limits.SyscallReported = true;
        state.InstructionsRetired += (ulong)retired;
        _runtime.SyscallReport?.Invoke(nextRip);
        state.InstructionsRetired -= (ulong)retired;
        TightenStop(state);
    }

    /// <summary>How a system instruction that faults, halts or stops the machine ends the block (<see cref="Fault"/> holds its fault; a jump <see cref="System"/> ends itself); false, for the generated code to return the result.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool SystemEnded(VcpuState state, int sectionOp, SystemOutcome outcome)
    {
        int section = sectionOp >> SectionShift;
        int opIndex = sectionOp;
        var block = SectionBlock(ref opIndex);
        ref readonly var op = ref block.Ops[opIndex];
        int guestInSection = op.Guest | (section << SectionShift);
        switch (outcome)
        {
            case SystemOutcome.Fault:
                FaultAt(state, guestInSection, in Fault);
                return false;
            case SystemOutcome.Halt:
                state.Rip = block.Instructions[op.Guest].NextRip;
                Result = new BlockResult(BlockEnd.Halt, op.Guest + 1);
                return false;
            case SystemOutcome.Stop:
                state.Rip = block.Instructions[op.Guest].NextRip;
                Result = new BlockResult(BlockEnd.Stop, op.Guest + 1);
                return false;
            default:
                throw new InvalidOperationException($"system instruction {(SystemOp)op.Aux} returned {outcome}");
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal ulong Meta(VcpuState state, int opIndex, ulong a, ulong b, ulong c, ulong d)
    {
        var op = SectionBlock(ref opIndex).Ops[opIndex];
        var handler = _runtime.MetaHandler(op.Aux);
        ulong value = handler?.Execute(in op, a, b, c, d, state) ?? 0;
        TightenStop(state);
        return value;
    }

    /// <summary>
    /// After a call out of compiled code that goes on in the block (a system instruction; a tool's
    /// callback, which may have reached the APIC or written translated code):
    /// lowers the budget's stop so that the trace leaves at its next block boundary when the APIC
    /// may now have an interrupt sooner, or the trace was invalidated. The boundaries test only the
    /// stop (<c>IlTraceEmitter</c>).
    /// </summary>
    internal void TightenStop(VcpuState state)
    {
        var limits = Limits;
        if (!TraceValid)
        {
            limits.StopRetired = 0;
            return;
        }
        if (Apic is null) return;
        ulong poll = InterruptPoll.PollRetired(Apic, state);
        if (poll < limits.StopRetired) limits.StopRetired = poll;
    }

    /// <summary>A block without a terminator: a bug in whoever built it (the interpreter reports it the same way).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal int RanOffEnd() =>
        throw new InvalidOperationException($"block {Block.StartRip:x} ran off its end: it has no terminator");

    /// <summary>Ends the block with a fault in guest instruction <paramref name="guest"/>: RIP = its RIP, #UD with its bytes.</summary>
    private int FaultAt(VcpuState state, int guest, in GuestFault reported)
    {
        var fault = reported;
        var insn = SectionBlock(ref guest).Instructions[guest];
        fault.Rip = insn.Rip;
        state.Rip = insn.Rip;
        if (fault.Vector == ExceptionVector.InvalidOpcode && fault.Bytes is null)
            fault.Bytes = FetchBytes(insn);
        Result = new BlockResult(BlockEnd.Fault, guest, fault);
        return ResultInField;
    }

    /// <summary>The instruction's bytes as fetched now, for the #UD report (fewer when the fetch stops short).</summary>
    private byte[] FetchBytes(in GuestInstruction insn)
    {
        Span<byte> buffer = stackalloc byte[15];
        int length = Math.Clamp(insn.Length, 1, 15);
        int got = Memory.Fetch(insn.Rip, buffer[..length], out _);
        return buffer[..got].ToArray();
    }
}
