using System.Runtime.CompilerServices;
using Drk.Dispatcher.Decoding;
using Drk.Dispatcher.IR;
using Drk.Dispatcher.Jit;
using Drk.Dispatcher.Lowering;
using Drk.Dispatcher.Optimization;
using Drk.Dispatcher.Tools;
using Drk.Hv;
using Drk.Hv.Cpu;
using Drk.Hv.Memory;

namespace Drk.Dispatcher.Execution;

/// <summary>
/// One vCPU's share of the dispatcher: runs the guest block at RIP from its private code cache
/// (decoding, lowering and optimising it on a miss), then does what the block's end asks:
/// exceptions and INT n go through the IDT, and pending interrupts are taken at the boundary.
/// </summary>
/// <remarks>
/// <para>
/// Fragments are keyed by (RIP, physical address of the first byte, CPL) and every physical page
/// they come from is write-watched; <see cref="MachineRunner"/> drops a page's fragments when it
/// is written. A block that writes its own code is stopped before that store lands and the
/// writing instruction is re-run alone (<see cref="RequestRestart"/>), so no stale instruction
/// runs after it: the rest of the block is decoded afresh.
/// </para>
/// <para>Not thread-safe: one per vCPU, run by one thread at a time.</para>
/// </remarks>
public sealed class VcpuDispatcher
{
    private const ulong PageMask = ~0xFFFUL;

    private readonly Vcpu _vcpu;
    private readonly Drk.Hv.Devices.LocalApic _apic;
    private readonly VcpuState _state;
    private readonly Mmu _mmu;
    // The soft TLB's entry arrays (TlbFastPath), for REP STOS/MOVS done in bulk outside traces.
    private readonly nint _supervisorTlb, _userTlb;
    private readonly PhysicalMemory _physical;
    private readonly BlockDecoder _decoder;
    private readonly Lowerer _lowerer = new();
    private readonly Optimizer _optimizer = new();
    private readonly IrInterpreter _interpreter;
    private readonly JitTier? _jit;
    private readonly ToolHost? _tools;
    private readonly ToolVcpu? _toolVcpu;
    // What compiled code calls to report a SYSCALL to the tools (JitRuntime.SyscallReport).
    private readonly Action<ulong>? _reportSyscall;
    private readonly bool _optimize;
    private readonly bool _verify;
    private readonly bool _tracing;
    private readonly int _traceThreshold;
    private readonly bool _headsInsideTraces;
    private readonly long _cacheCapacity;
    private bool _restartRequested;
    private bool _runNextAlone;
    private bool _headAfterSystemJump;
    // A trace is running (the budget's Current says which: traces chain into one another inside compiled code).
    private bool _runningTrace;
    private Fragment? _executing;
    // The result of the last block run by the interpreter (Step refers to it instead of copying it).
    private BlockResult _interpreted;
    private List<Fragment>? _recording;
    // A joined trace being compiled (one join at a time), and the traces it will replace: the
    // first is the one that asked.
    private Trace? _joining;
    private List<Trace>? _joinMembers;
    // Where the current Run call stops, as a retired count; 0 outside Run (no chaining, no traces).
    private ulong _chainStopRetired;
    private ulong _stopRetired;
    // The current Run call's stop request (null outside Run).
    private MachineStop? _stop;

    /// <summary>
    /// Most fragments in one trace. Longer NET traces repeat the tails they share with other
    /// traces, and RyuJIT's time grows with them; since one trace goes on into the next without
    /// the dispatch loop, 6 gave the same or better wall time than 16 with 13% less CPU on run=all
    /// (drk bench -c auto, 5 alternated runs: 3.07 -> 2.81 s wall, 4.76 -> 4.12 s CPU; compute
    /// workloads unchanged).
    /// </summary>
    public const int MaxTraceBlocks = 6;

    /// <summary>
    /// Most fragments in a trace made by joining traces (<see cref="RequestJoin"/>): enough for
    /// an interpreter's dispatch loop with its handlers, or a call with its callees, to stay in one
    /// method, while RyuJIT's time for it stays a few milliseconds.
    /// </summary>
    public const int MaxJoinedBlocks = 24;

    /// <summary>
    /// Most guest instructions over which a trace's <see cref="CompiledBlock.ChainsBeforeJoin"/>
    /// chains must come for it to be joined (one every 1,024 instructions on average): traces that
    /// chain often over a long run, but not densely, are not worth a compilation.
    /// </summary>
    public const ulong JoinWindow = CompiledBlock.ChainsBeforeJoin * 1024UL;

    /// <summary>Entries of a trace head (through backward branches and trace exits) before its trace is recorded, for the JIT tier (DynamoRIO's NET uses 50).</summary>
    public const int DefaultTraceThreshold = 50;

    /// <summary>Creates the dispatcher of <paramref name="vcpu"/>, whose RAM is <paramref name="physical"/>.</summary>
    public VcpuDispatcher(Vcpu vcpu, PhysicalMemory physical, MachineRunOptions options)
    {
        _vcpu = vcpu;
        _apic = vcpu.Apic;
        _state = vcpu.State;
        _mmu = vcpu.Mmu;
        _supervisorTlb = TlbFastPath.EntriesAddress(_mmu, user: false);
        _userTlb = TlbFastPath.EntriesAddress(_mmu, user: true);
        _physical = physical;
        _decoder = new BlockDecoder(_mmu);
        _tools = options.Tools;
        _interpreter = new IrInterpreter(_mmu, vcpu.System, _tools?.CleanCalls, _tools?.Counters);
        _toolVcpu = _tools?.Register(vcpu, physical);
        if (_tools is not null) _reportSyscall = nextRip => _tools.OnSyscall(_toolVcpu!, nextRip);
        var runtime = new JitRuntime(_interpreter, _mmu, vcpu.System) { Apic = vcpu.Apic };
        _jit = options is { Tier: ExecutionTier.Auto, CompileScheduleSeed: int seed }
            ? new JitTier(runtime, new CompileSchedule(seed + vcpu.Index))
            : JitTier.For(options.Tier, runtime);
        _optimize = options.Optimize;
        _verify = options.VerifyIr;
        _cacheCapacity = options.CacheSize;
        _tracing = _jit is not null && options.Traces;
        _traceThreshold = Math.Max(DefaultTraceThreshold, _jit?.Threshold ?? 0);
        _headsInsideTraces = options.TraceHeadsInsideTraces;
        Recent = new RecentBlocks(options.RecentBlockCount);
    }

    public Vcpu Vcpu => _vcpu;

    /// <summary>This vCPU's fragments.</summary>
    public FragmentCache Cache { get; } = new();

    /// <summary>The last blocks this vCPU ran, for dumps.</summary>
    public RecentBlocks Recent { get; }

    /// <summary>The interpreter (tier 0), for registering tool callbacks.</summary>
    public IrInterpreter Interpreter => _interpreter;

    /// <summary>The JIT tier (tier 1) and its statistics when <see cref="MachineRunOptions.Tier"/> asks for it; it shares the interpreter's tool callbacks.</summary>
    public JitTier? Jit => _jit;

    /// <summary>
    /// The fragment being executed right now, or null between blocks; inside a trace, the
    /// fragment of the trace's block that is running (the trace's code says which).
    /// </summary>
    public Fragment? Executing
    {
        get
        {
            if (_runningTrace && _jit?.Runtime.Budget.Current is { Owner: { } trace } code) return trace.Fragments[code.Section];
            return _executing;
        }
        private set => _executing = value;
    }

    /// <summary>What this vCPU is doing right now, for <see cref="TierSampler"/> (written per block, read by the sampler thread).</summary>
    public TierSampler.Activity CurrentActivity => (TierSampler.Activity)Volatile.Read(ref _activity);

    private int _activity;

    /// <summary>The indirect-branch lookup table (indirect jumps, calls, returns).</summary>
    public IndirectBranchTable Ibl { get; } = new();

    /// <summary>Links, lookups, traces and per-tier execution of this vCPU.</summary>
    public DispatchStatistics Statistics { get; } = new();

    /// <summary>Blocks decoded and lowered (cache misses, and instructions re-run alone).</summary>
    public long BlocksBuilt { get; private set; }

    /// <summary>Instructions retired at CPL 0 (kernel and module code) by this vCPU.</summary>
    public ulong KernelInstructionsRetired { get; private set; }

    /// <summary>Blocks run (or whose first fetch faulted) so far.</summary>
    public long BlocksRun => Recent.Count;

    /// <summary>Blocks in a row, up to now, that retired nothing (they faulted on their first instruction, or could not be fetched).</summary>
    public int StalledBlocks { get; private set; }

    /// <summary>Times a block was stopped because it wrote its own code.</summary>
    public long SelfModifyingRestarts { get; private set; }

    /// <summary>
    /// Called (from the code-write handler) when the executing block's store was cancelled because
    /// it would modify the block's own code: the block ends there as if that instruction faulted,
    /// and the instruction then runs as a block of its own.
    /// </summary>
    public void RequestRestart() => _restartRequested = true;

    /// <summary>
    /// Runs one block at the current RIP and retires it (the interpreter adds to the clock), or
    /// delivers the fault that prevents it; then delivers a pending interrupt if one may be taken.
    /// </summary>
    public void RunBlock()
    {
        _stopRetired = ulong.MaxValue;
        _chainStopRetired = 0;
        SelectForTools();
        Step(null);
    }

    /// <summary>
    /// Runs blocks until the run loop has to look: the clock reaches <paramref name="targetTicks"/>,
    /// <paramref name="limitRetired"/> instructions have retired, the vCPU halts or waits for a
    /// STARTUP, <paramref name="stop"/> is requested, or <paramref name="maxStalled"/> blocks in a row retired nothing.
    /// Between blocks it checks exactly what <see cref="RunBlock"/> in a loop would (interrupts are
    /// polled at every block boundary), so the guest cannot tell the difference; the gain is that
    /// direct exits follow links, indirect exits the indirect-branch table, and hot paths run as
    /// compiled traces.
    /// </summary>
    public void Run(ulong targetTicks, ulong limitRetired, int maxStalled, MachineStop stop)
    {
        var state = _state;
        var sys = state.Sys;
        if (state.Ticks >= targetTicks) return;
        // Idle ticks do not change while the vCPU runs, so the round's end is a retired count.
        ulong stopRetired = Math.Min(limitRetired, targetTicks - state.IdleTicks);
        _stopRetired = stopRetired;
        _chainStopRetired = stopRetired;
        _stop = stop;
        // Traces go on across SYSCALL and SYSRET by themselves; with tools that want kernel entries,
        // they report a SYSCALL first, as the loop does below.
        if (_jit is not null)
        {
            var budget = _jit.Runtime.Budget;
            budget.SystemJumpsChain = true;
            budget.ReportSyscalls = _tools is { WantsKernelEntries: true };
            _jit.Runtime.SyscallReport = budget.ReportSyscalls ? _reportSyscall : null;
        }
        SelectForTools();
        Fragment? next = null;
        do
        {
            next = Step(next);
        }
        while (state.InstructionsRetired < stopRetired && !stop.IsRequested && !sys.Halted && !_vcpu.WaitingForStartup
            && StalledBlocks < maxStalled);
        _chainStopRetired = 0;
        _stop = null;
    }

    /// <summary>
    /// Runs the block at RIP (<paramref name="linked"/> when a link or the indirect-branch table
    /// already found it, or its trace), handles how it ended, polls interrupts, and answers the
    /// fragment that comes next when it can be known without a full lookup.
    /// </summary>
    private Fragment? Step(Fragment? linked)
    {
        var state = _state;
        ulong rip = state.Rip;
        GuestFault fault = default;
        Fragment? fragment;
        if (linked is not null)
        {
            fragment = linked;
        }
        else if (_runNextAlone)
        {
            _runNextAlone = false;
            fragment = Translate(rip, out ulong physical, out fault) ? Build(rip, physical, 1, false, out fault) : null;
        }
        else
        {
            Statistics.FullLookups++;
            fragment = Find(rip, out fault);
            // Where a system jump lands (SYSCALL's entry, SYSRET's or IRET's return) is a path
            // entry no branch leads to: count it towards a trace head, as a backward branch's
            // target, or the kernel's system-call path would only ever run block by block.
            if (_headAfterSystemJump)
            {
                _headAfterSystemJump = false;
                if (fragment is not null && fragment.IsCached) CountTraceHead(fragment);
            }
        }
        if (fragment is null)
        {
            Recent.RecordFetchFault(rip);
            StalledBlocks++;
            fault.Rip = rip;
            _vcpu.DeliverFault(fault);
            PollInterrupts();
            _recording?.Clear();
            return null;
        }

        // The shadow of STI / MOV SS covers one instruction: the first of this block, and those end
        // their blocks, so no interrupt can come in between. Set again by this block, it survives.
        state.Sys.InterruptShadow = false;
        ulong retiredBefore = state.InstructionsRetired;
        // A reference, not a copy: compiled code answers one of its prebuilt results.
        ref readonly BlockResult result = ref _interpreted;
        bool fromTrace = false;
        // Where the instructions of the run's last privilege level began: a trace that went on across
        // SYSCALL or SYSRET by itself ran at two, and counted the earlier part's kernel instructions.
        ulong levelStart = retiredBefore;
        if (_joining is not null) CompleteJoin();
        var trace = fragment.Trace;
        int entrySection = 0;
        if ((trace is null || Volatile.Read(ref trace.Code) is null) && fragment.MemberOf is { IsValid: true } member)
        {
            // Not a compiled trace's head, but a later block of one: run it there, not alone.
            trace = member;
            entrySection = fragment.MemberSection;
        }
        if (trace is not null && _chainStopRetired != 0 && _recording is not { Count: > 0 } && Volatile.Read(ref trace.Code) is { } code
            && TraceMappingHolds(trace))
        {
            _runningTrace = true;
            var budget = code.Limits;
            budget.StopRetired = TraceStop(state);
            _activity = (int)TierSampler.Activity.Trace;
            if (entrySection != 0) Statistics.TraceSideEntries++;
            budget.LevelStart = retiredBefore;
            result = ref entrySection == 0 ? ref code.Run(state) : ref code.RunFrom(state, entrySection);
            // Trace to trace: while a trace leaves through a plain exit to the head of another
            // compiled trace and nothing between blocks would happen, go straight on (what the
            // general path below would do, without its look-ups), and let the exit go on by
            // itself next time. Traces that already went on by themselves are in the budget.
            code = budget.Current!;
            trace = code.Owner!;
            while (result.End is BlockEnd.Exit or BlockEnd.ExitIndirect)
            {
                var from = trace.Fragments[code.ExitSection];
                var chained = ChainedTrace(from, result.End);
                if (chained is null) break;
                Statistics.TraceChains++;
                if (chained.Entry != 0) Statistics.TraceSideEntries++;
                code.ChainTo(budget.ExitSite, chained);
                CountTraceRun(retiredBefore);
                NoteRunEnd(from, LevelStart(budget), result.Retired, result.End);
                retiredBefore = state.InstructionsRetired;
                state.Sys.InterruptShadow = false; // a block starts (an STI's shadow is over), as at the top of Step
                budget.StopRetired = TraceStop(state);
                budget.LevelStart = retiredBefore;
                result = ref chained.Enter(state);
                code = budget.Current!;
                trace = code.Owner!;
            }
            if (budget.JoinFrom is { } joinFrom)
            {
                RequestJoin(joinFrom, budget.JoinTo!);
                budget.JoinFrom = budget.JoinTo = null;
            }
            if (budget.Chains != 0)
            {
                Statistics.TraceChains += budget.Chains;
                Statistics.TraceChainsInCode += budget.Chains;
                Statistics.TraceRuns += budget.Chains;
                budget.Chains = 0;
            }
            _activity = (int)TierSampler.Activity.Dispatch;
            fragment = trace.Fragments[code.ExitSection];
            _runningTrace = false;
            CountTraceRun(retiredBefore);
            levelStart = LevelStart(budget);
            fromTrace = true;
        }
        else
        {
            // A lone REP STOS/MOVS outside a trace: the iterations a trace would do at once first.
            if (fragment.BulkSize != 0 && _jit is not null)
                _jit.Runtime.Budget.BulkIterations += (long)BulkString.RunBefore(fragment, state, _mmu, state.Cpl == 3 ? _userTlb : _supervisorTlb, TraceStop(state), _interpreter.Counters);
            if (fragment.AwaitsOptimisation && fragment.RunsUnoptimised++ > 0) Optimise(fragment);
            _executing = fragment;
            var block = fragment.Block;
            if (_jit is null)
            {
                _activity = (int)TierSampler.Activity.Interpreter;
                _interpreted = _interpreter.Execute(block, state);
            }
            else if (_jit.CompiledCodeOf(block) is { } compiled)
            {
                // The steady state, without JitTier.Execute's call in between.
                _activity = (int)TierSampler.Activity.CompiledBlock;
                _jit.Statistics.CompiledRuns++;
                result = ref compiled.Run(state);
            }
            else
            {
                _activity = (int)TierSampler.Activity.Interpreter;
                _interpreted = _jit.Execute(block, state, _interpreter);
            }
            _activity = (int)TierSampler.Activity.Dispatch;
            _executing = null;
            Statistics.BlockInstructions += result.Retired;
        }
        NoteRunEnd(fragment, levelStart, result.Retired, result.End);
        StalledBlocks = result.Retired == 0 ? StalledBlocks + 1 : 0;
        switch (result.End)
        {
            case BlockEnd.Fault:
                if (_restartRequested)
                {
                    SelfModifyingRestarts++;
                    _runNextAlone = true;
                }
                else
                {
                    _vcpu.DeliverFault(result.Fault);
                }
                break;
            case BlockEnd.SystemJump:
                _headAfterSystemJump = _tracing;
                if (_tools is { WantsKernelEntries: true } && fragment.Cpl == 3
                    && fragment.Block.Instructions[result.Retired - 1].Instruction.Mnemonic == Iced.Intel.Mnemonic.Syscall)
                {
                    // Unless the trace that ran it reported it already and then did not go on.
                    if (fromTrace && _jit!.Runtime.Budget.SyscallReported) _jit.Runtime.Budget.SyscallReported = false;
                    else _tools.OnSyscall(_toolVcpu!, fragment.Block.Instructions[result.Retired - 1].NextRip);
                }
                break;
            case BlockEnd.SoftInt:
                // Delivery wants the INT's own RIP in the state (the frame gets the return address).
                state.Rip = fragment.Block.Instructions[result.Retired - 1].Rip;
                _vcpu.DeliverSoftwareInterrupt((byte)result.Fault.Vector, result.Fault.Rip);
                break;
        }
        _restartRequested = false;
        bool chains = result.End is BlockEnd.Exit or BlockEnd.ExitIndirect or BlockEnd.SystemJump;
        if (InterruptPoll.MayHaveInterrupt(_apic, state) && _vcpu.TryDeliverInterrupt()) chains = false;
        if (!chains || _chainStopRetired == 0 || !fragment.IsCached)
        {
            _recording?.Clear();
            return null;
        }
        if (result.End == BlockEnd.SystemJump)
        {
            // SYSCALL's entry, SYSRET's return: found like an indirect branch's target, through the
            // table (the privilege level and translation checked as there), not by a full look-up.
            _recording?.Clear();
            var landing = FollowIndirect();
            if (landing is not null && _headAfterSystemJump)
            {
                _headAfterSystemJump = false;
                CountTraceHead(landing);
            }
            // A trace that ends in the same SYSCALL or SYSRET goes on into this one by itself next time.
            if (landing?.Trace is { } landingTrace && Volatile.Read(ref landingTrace.Code) is { } landingCode)
                _jit!.Runtime.NoteIndirectTarget(landingCode, state.Cpl);
            return landing;
        }

        var next = result.End == BlockEnd.Exit ? FollowLink(fragment) : FollowIndirect();
        if (_tracing)
        {
            if (_recording is { Count: > 0 } recording && !fromTrace) Record(recording, fragment, next);
            if (next is not null && (fromTrace || (result.End == BlockEnd.Exit && state.Rip <= fragment.Rip)))
                CountTraceHead(next);
        }
        return next;
    }

    /// <summary>
    /// Where a trace entered now must give control back: the round's end, or the retired count at
    /// which the APIC may have an interrupt when that comes first (the trace tests only this stop at
    /// its block boundaries; calls out of it lower the stop when they change the APIC).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong TraceStop(VcpuState state) => Math.Min(_chainStopRetired, InterruptPoll.PollRetired(_apic, state));

    /// <summary>Counts a trace run that started at <paramref name="retiredBefore"/> and has just ended.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CountTraceRun(ulong retiredBefore)
    {
        Statistics.TraceRuns++;
        Statistics.TraceInstructions += (long)(_state.InstructionsRetired - retiredBefore);
    }

    /// <summary>
    /// After compiled traces ran: takes the kernel instructions they counted at the privilege levels
    /// they left by SYSCALL or SYSRET, and answers where the last level's instructions began (the
    /// run's start when there was no such switch), for <see cref="NoteRunEnd"/>.
    /// </summary>
    private ulong LevelStart(TraceBudget budget)
    {
        KernelInstructionsRetired += budget.KernelRetiredBeforeLevel;
        budget.KernelRetiredBeforeLevel = 0;
        return budget.LevelStart;
    }

    /// <summary>Records the end of a run in <paramref name="ran"/> (the block it left from): its kernel instructions (those since <paramref name="retiredBefore"/>, all at its CPL) and its recent-blocks entry.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void NoteRunEnd(Fragment ran, ulong retiredBefore, int retired, BlockEnd end)
    {
        if (ran.Cpl == 0) KernelInstructionsRetired += _state.InstructionsRetired - retiredBefore;
        Recent.Record(ran.Rip, retired, end);
    }

    /// <summary>
    /// The compiled trace a trace that just left <paramref name="from"/> through a plain exit
    /// (<paramref name="end"/>) may run next without going back to the dispatch loop, or null when
    /// the loop has to look: the round's budget is reached, an interrupt may be pending, a stop
    /// was requested, or the target is not the head of a compiled trace whose link or
    /// indirect-branch entry and pages were checked at the current translation generation. The
    /// block boundary is otherwise the dispatch loop's: an STI's interrupt shadow matters only
    /// when an interrupt may be pending (then the loop looks), and ends when the next trace starts
    /// (the caller clears it, as a block start does); a plain exit retires its last instruction
    /// (no stall, no restart).
    /// </summary>
    private CompiledBlock? ChainedTrace(Fragment from, BlockEnd end)
    {
        var state = _state;
        if (state.InstructionsRetired >= _chainStopRetired || InterruptPoll.MayHaveInterrupt(_apic, state) || _stop?.IsRequested == true)
            return null;
        ulong rip = state.Rip;
        ulong generation = _mmu.TranslationGeneration;
        Fragment? next;
        if (end == BlockEnd.Exit)
        {
            next = from.LinkTo(rip);
            if (next is null || !next.IsCheckedAt(state.Cpl, generation)) return null;
        }
        else
        {
            next = Ibl.PeekChecked(rip, state.Cpl, generation);
            if (next is null) return null;
        }
        // The fragment's own trace, or the one it is a later block of (entered there).
        var trace = next.Trace;
        int section = 0;
        if ((trace is null || Volatile.Read(ref trace.Code) is null) && next.MemberOf is { IsValid: true } member)
        {
            trace = member;
            section = next.MemberSection;
        }
        if (trace is null || trace.CheckedGeneration != generation || Volatile.Read(ref trace.Code) is not { } code) return null;
        var entry = code.EntryAt(section);
        if (end == BlockEnd.Exit)
        {
            Statistics.LinkHits++;
        }
        else
        {
            Ibl.CountHit();
            // Next time an indirect exit of any trace reaches it, it goes on inside compiled code.
            _jit!.Runtime.NoteIndirectTarget(entry, state.Cpl);
        }
        return entry;
    }

    /// <summary>The fragment at the direct exit's target (state RIP), through a link when one holds; the link is set on a miss.</summary>
    private Fragment? FollowLink(Fragment from)
    {
        ulong rip = _state.Rip;
        var link = from.LinkTo(rip);
        if (link is not null && LinkHolds(from, link))
        {
            Statistics.LinkHits++;
            return link;
        }
        Statistics.LinkMisses++;
        var target = Find(rip, out _);
        // A fetch fault is delivered by the next step's own lookup.
        if (target is null || !target.IsCached) return null;
        if (from.LinkA is null || !from.LinkA.IsValid || from.LinkA.Rip == rip) from.LinkA = target;
        else from.LinkB = target;
        return target;
    }

    /// <summary>
    /// Whether <paramref name="to"/> is what a full lookup would find: alive, lowered for this CPL,
    /// and its bytes still where RIP translates. A target on the source's first page shares the
    /// source's translation (checked when the source was entered) unless the source ran a system
    /// instruction, which may have changed the page tables; any other target is translated again.
    /// </summary>
    private bool LinkHolds(Fragment from, Fragment to)
    {
        if (!to.IsValid || to.Cpl != _state.Cpl) return false;
        ulong generation = _mmu.TranslationGeneration;
        if (to.CheckedGeneration == generation) return true;
        if (((to.Rip ^ from.Rip) & PageMask) != 0 || from.HasSystemOp)
        {
            if (!Translate(to.Rip, out ulong physical, out _) || physical != to.PhysicalAddress) return false;
            if (to.SpansTwoPages && !SecondPageUnchanged(to)) return false;
            NoteChecked(ref to.CheckedGeneration, generation);
            return true;
        }
        return !to.SpansTwoPages || SecondPageUnchanged(to);
    }

    /// <summary>
    /// Remembers (in a fragment's or a trace's <paramref name="checkedGeneration"/>) that its pages
    /// translated as recorded, if no TLB entry changed since <paramref name="before"/> (read before
    /// the check): then every translation the check made was a hit on an entry still there, and
    /// repeating it would give the same answer.
    /// </summary>
    private void NoteChecked(ref ulong checkedGeneration, ulong before)
    {
        if (_mmu.TranslationGeneration == before) checkedGeneration = before;
    }

    /// <summary>The fragment at an indirect exit's target through the indirect-branch table; a miss looks it up in full and fills the table.</summary>
    private Fragment? FollowIndirect()
    {
        ulong rip = _state.Rip;
        ulong generation = _mmu.TranslationGeneration;
        var f = Ibl.LookupChecked(rip, _state.Cpl, generation);
        if (f is not null) return f;
        if (!Translate(rip, out ulong physical, out _)) return null;
        f = Ibl.Lookup(rip, physical, _state.Cpl);
        if (f is not null && (!f.SpansTwoPages || SecondPageUnchanged(f)))
        {
            NoteChecked(ref f.CheckedGeneration, generation);
            return f;
        }
        f = Find(rip, out _);
        if (f is null || !f.IsCached) return null;
        Ibl.Insert(f);
        return f;
    }

    /// <summary>Checks that every page of the trace still translates as when it was recorded.</summary>
    private bool TraceMappingHolds(Trace trace)
    {
        ulong generation = _mmu.TranslationGeneration;
        if (trace.CheckedGeneration == generation) return true;
        var linear = trace.LinearPages;
        var physical = trace.PhysicalPages;
        for (int i = 0; i < linear.Length; i++)
        {
            if (!Translate(linear[i], out ulong p, out _) || p != physical[i])
            {
                Statistics.TraceMappingMisses++;
                return false;
            }
        }
        NoteChecked(ref trace.CheckedGeneration, generation);
        return true;
    }

    // ---- traces (NET: next executing tail) ---------------------------------------------------

    /// <summary>
    /// Fragments entered through a backward branch or a trace exit count towards becoming a trace
    /// head, unless they are a later block of a live trace: they run inside that one (entered at
    /// that block), and a trace of their own would compile its blocks a second time. Where paths
    /// through such blocks go from trace to trace often, joins make one method of them.
    /// (<see cref="MachineRunOptions.TraceHeadsInsideTraces"/> lets them, as DynamoRIO's NET does.)
    /// </summary>
    private void CountTraceHead(Fragment head)
    {
        if (head.Trace is not null || head.EndsTraces || _recording is { Count: > 0 } || (!_headsInsideTraces && head.MemberOf is { IsValid: true })) return;
        if (++head.HeadCount < _traceThreshold) return;
        head.HeadCount = int.MinValue; // recorded once; a trace that dies is not recorded again at once
        (_recording ??= new List<Fragment>(MaxTraceBlocks)).Add(head);
    }

    /// <summary>
    /// Records the path after a hot head: <paramref name="ran"/> has just run and exited to
    /// <paramref name="next"/>. The trace ends when the path comes back to one of its blocks,
    /// grows to <see cref="MaxTraceBlocks"/>, or goes where a trace cannot follow. While a trace
    /// is recorded no trace runs, so every block of the path runs alone and is seen here.
    /// </summary>
    private void Record(List<Fragment> recording, Fragment ran, Fragment? next)
    {
        // The head was added when it was chosen; it has just run if it is the only entry.
        if (!ReferenceEquals(recording[^1], ran))
        {
            recording.Clear();
            Statistics.TracesAbandoned++;
            return;
        }
        // The path goes on through other traces' heads (their blocks join this trace), and ends
        // when it comes back to a block it holds: that exit becomes a jump inside the method.
        if (next is not null && !next.EndsTraces && recording.Count < MaxTraceBlocks && !recording.Contains(next))
        {
            recording.Add(next);
            return;
        }
        // A block that always leaves through SYSCALL or SYSRET closes the path, even one block past
        // the limit: alone, or entered in another trace, it would cost a trip through the dispatcher.
        if (next is not null && next.MayEndTrace) recording.Add(next);
        foreach (var f in recording)
            if (f.AwaitsOptimisation) Optimise(f);
        var trace = new Trace(recording.ToArray());
        recording.Clear();
        trace.Head.Trace = trace;
        Statistics.TracesBuilt++;
        _jit!.DeferBlocksOf(trace);
        _jit.RequestTrace(trace);
    }

    /// <summary>
    /// The code of trace <paramref name="fromCode"/> went on into <paramref name="toCode"/> by itself
    /// often (<see cref="TraceBudget.JoinFrom"/>): a trace of the first's blocks followed by those
    /// of the second it lacks, and of the other live traces that have been going on into either
    /// by themselves (as far as there is room), is compiled, and replaces them all once its code
    /// is there (<see cref="CompleteJoin"/>); the transfers become jumps inside one method, indirect ones
    /// included (<see cref="Trace.JoinedHeads"/>). Refused when either trace died or changed, the
    /// privilege levels differ, a block's RIP stands for two translations, or the result would
    /// exceed <see cref="MaxJoinedBlocks"/>; while another join compiles, the first asks again later.
    /// </summary>
    private void RequestJoin(CompiledBlock fromCode, CompiledBlock toCode)
    {
        if (_jit is null) return;
        ulong now = _state.InstructionsRetired;
        if (now - fromCode.JoinCountFrom > JoinWindow || _joining is not null)
        {
            // Chains too sparse to pay for a compilation, or another join compiling: count again
            // from here.
            fromCode.JoinCountdown = CompiledBlock.ChainsBeforeJoin;
            fromCode.JoinCountFrom = now;
            return;
        }
        var from = fromCode.Owner;
        var to = toCode.Owner;
        if (from is null || to is null || !from.IsValid || !to.IsValid
            || !ReferenceEquals(from.Head.Trace, from) || from.Head.Cpl != to.Head.Cpl)
            return;
        var fragments = new List<Fragment>(from.Fragments);
        // The traces joined, and where each one's blocks land in the joined trace (from's first,
        // as they are).
        var members = new List<Trace> { from };
        var placedFrom = new int[from.Fragments.Length];
        for (int k = 0; k < placedFrom.Length; k++) placedFrom[k] = k;
        var placedOf = new List<int[]> { placedFrom };
        if (!ReferenceEquals(to, from))
        {
            if (Place(to, fragments) is not { } placedTo) return;
            members.Add(to);
            placedOf.Add(placedTo);
        }
        if (fragments.Count > MaxJoinedBlocks) return;
        // The region: other live traces that have been going on by themselves into it (a dispatch
        // loop's other handlers, a function's other callers) join it now, as far as it has room,
        // rather than one per join, each of which compiles the whole region again.
        foreach (var f in Cache.Fragments)
        {
            if (f.Trace is not { IsValid: true } other || !ReferenceEquals(other.Head, f) || f.Cpl != from.Head.Cpl
                || members.Contains(other) || Volatile.Read(ref other.Code) is not { } otherCode
                || otherCode.JoinCountdown == CompiledBlock.ChainsBeforeJoin || !ChainsInto(otherCode, members))
                continue;
            if (fragments.Count + other.Fragments.Length > MaxJoinedBlocks) continue;
            if (Place(other, fragments) is not { } placedOther) continue;
            members.Add(other);
            placedOf.Add(placedOther);
        }
        // Indirect exits compare with the heads of every trace joined so far, and the block the
        // chain entered (to's head, or a later block of it). A trace that went on into a later
        // block of its own (an indirect exit that did not compare with it) is joined with itself:
        // the same blocks, one more target compared.
        var heads = new List<int>(from.JoinedHeads);
        void AddHead(int at)
        {
            if (at > 0 && !heads.Contains(at)) heads.Add(at);
        }
        int known = heads.Count;
        int toIndex = members.IndexOf(to);
        AddHead(placedOf[toIndex][toCode.Entry]);
        for (int m = 1; m < members.Count; m++)
        {
            AddHead(placedOf[m][0]);
            foreach (int k in members[m].JoinedHeads) AddHead(placedOf[m][k]);
        }
        // And, all at once, every block of the region that its traces' chain sites went on into
        // last: taken one per join, a dispatch loop's handlers or a call tree's returns compiled
        // the whole region again for each.
        for (int m = 0; m < members.Count; m++)
        {
            if (Volatile.Read(ref members[m].Code) is not { } memberCode) continue;
            foreach (var target in memberCode.Main.ChainTargets)
            {
                int owner = target is null ? -1 : members.IndexOf(target.Main.Owner!);
                if (owner >= 0) AddHead(placedOf[owner][target!.Entry]);
            }
        }
        if (members.Count == 1 && heads.Count == known) return;
        var joined = new Trace(fragments.ToArray(), heads.ToArray());
        _joining = joined;
        _joinMembers = members;
        _jit.RequestTrace(joined);
    }

    /// <summary>
    /// Once the joined trace's compilation ended: when it compiled and it and the trace that asked
    /// are both alive, every trace it replaces dies (code chaining into one comes back here and
    /// chains to the new one) and the joined trace becomes its head's trace, the trace of its blocks
    /// that lost theirs, and the indirect-branch table's entry for its RIP.
    /// </summary>
    private void CompleteJoin()
    {
        var joined = _joining!;
        if (!Volatile.Read(ref joined.CompileEnded)) return;
        var members = _joinMembers!;
        _joining = null;
        _joinMembers = null;
        var source = members[0];
        var code = Volatile.Read(ref joined.Code);
        if (code is null || !joined.IsValid || !source.IsValid || !ReferenceEquals(source.Head.Trace, source)) return;
        // Every member's blocks are all in the joined trace: they retire, so no block is compiled
        // into two live methods and what chained into any enters the joined trace instead.
        foreach (var member in members) member.Invalidate();
        joined.Adopt();
        _jit!.Runtime.NoteIndirectTarget(code, joined.Head.Cpl);
        Statistics.TracesJoined++;
    }

    /// <summary>Where each block of <paramref name="trace"/> lands when it joins <paramref name="fragments"/> (its blocks missing there are added); null, adding nothing, when one of its RIPs stands for another fragment there.</summary>
    private static int[]? Place(Trace trace, List<Fragment> fragments)
    {
        var placed = new int[trace.Fragments.Length];
        int added = 0;
        for (int k = 0; k < placed.Length; k++)
        {
            var f = trace.Fragments[k];
            int at = fragments.IndexOf(f);
            if (at < 0)
            {
                foreach (var g in fragments)
                {
                    if (g.Rip != f.Rip) continue;
                    fragments.RemoveRange(fragments.Count - added, added);
                    return null;
                }
                at = fragments.Count;
                fragments.Add(f);
                added++;
            }
            placed[k] = at;
        }
        return placed;
    }

    /// <summary>Whether a chain site of <paramref name="code"/> last went on into one of <paramref name="traces"/>.</summary>
    private static bool ChainsInto(CompiledBlock code, List<Trace> traces)
    {
        foreach (var target in code.ChainTargets)
            if (target?.Main.Owner is { } owner && traces.Contains(owner)) return true;
        return false;
    }

    /// <summary>Tools' clean calls run on this vCPU until another one runs: set once per run of blocks, not per block.</summary>
    private void SelectForTools()
    {
        if (_tools is not null) _tools.Current = _toolVcpu;
    }

    /// <summary>Forgets every fragment of this vCPU.</summary>
    public void Flush()
    {
        Cache.Clear();
        Ibl.Clear();
        _recording?.Clear();
    }


    private void PollInterrupts()
    {
        if (InterruptPoll.MayHaveInterrupt(_apic, _state)) _vcpu.TryDeliverInterrupt();
    }

    private bool Translate(ulong rip, out ulong physical, out GuestFault fault) =>
        _mmu.Translate(rip, AccessKind.Execute, out physical, out fault);

    /// <summary>The valid fragment for RIP under the current page tables and CPL, built on a miss; null with the fetch fault.</summary>
    private Fragment? Find(ulong rip, out GuestFault fault)
    {
        ulong generation = _mmu.TranslationGeneration;
        if (!Translate(rip, out ulong physical, out fault)) return null;
        var fragment = Cache.Lookup(rip, physical, _state.Cpl);
        if (fragment is not null && (!fragment.SpansTwoPages || SecondPageUnchanged(fragment)))
        {
            NoteChecked(ref fragment.CheckedGeneration, generation);
            return fragment;
        }
        return Build(rip, physical, BlockDecoder.MaxInstructions, true, out fault);
    }

    /// <summary>The page a fragment continues on may be remapped on its own: the fragment holds only if it still translates to the same physical page.</summary>
    private bool SecondPageUnchanged(Fragment fragment) =>
        Translate(fragment.SecondLinearPage, out ulong second, out _) && (second & PageMask) == fragment.SecondPage;

    private Fragment? Build(ulong rip, ulong physical, int maxInstructions, bool cache, out GuestFault fault)
    {
        if (!_decoder.TryDecode(rip, out var instructions, out fault, maxInstructions)) return null;
        int cpl = _state.Cpl;
        var block = _lowerer.Lower(instructions, cpl);
        if (_verify) IrVerifier.ThrowIfInvalid(block, "lowering");
        if (_tools is not null)
        {
            block = _tools.Instrument(block, cpl);
            if (_verify) IrVerifier.ThrowIfInvalid(block, "instrumentation");
        }
        // Many blocks run once (the boot, exec, module loading: 44-51% of those built), and
        // optimising them costs more than it saves: a block is optimised before its second run
        // instead (Optimise), or before it joins a trace. The JIT tier that compiles blocks before
        // their first run (threshold 0) optimises at once.
        bool lazy = _optimize && (_jit is null || _jit.Threshold >= 1);
        if (_optimize && !lazy) Optimise(block);
        BlocksBuilt++;

        ulong secondPage = Fragment.NoPage, secondLinear = Fragment.NoPage;
        ulong lastLinear = (instructions[^1].NextRip - 1) & PageMask;
        bool cacheable = cache && IsPlainRam(physical);
        if (lastLinear != (rip & PageMask))
        {
            // The decoder fetched these bytes a moment ago, so the page translates; if it somehow
            // does not, the fragment is run once and not kept.
            if (Translate(lastLinear, out ulong second, out _) && IsPlainRam(second))
            {
                secondPage = second & PageMask;
                secondLinear = lastLinear;
            }
            else
            {
                cacheable = false;
            }
        }
        var fragment = new Fragment(block, physical, cpl, secondPage, secondLinear) { AwaitsOptimisation = lazy };
        if (cacheable)
        {
            // Full: drop everything and start again (DynamoRIO's cache reset). Safe here, between
            // blocks: nothing runs from the cache while a block is built.
            if (_cacheCapacity > 0 && Cache.CodeBytes + fragment.Length > _cacheCapacity) Flush();
            Cache.Add(fragment);
            // Watch before the fragment runs: a store by its own first instruction must be seen.
            _physical.WatchCodePage(physical);
            if (secondPage != Fragment.NoPage) _physical.WatchCodePage(secondPage);
        }
        return fragment;
    }

    /// <summary>Optimises the IR of a fragment built without (it had not run twice yet), in place, before it runs again or is compiled.</summary>
    private void Optimise(Fragment fragment)
    {
        Optimise(fragment.Block);
        fragment.AwaitsOptimisation = false;
    }

    /// <summary>Runs the IR optimiser over <paramref name="block"/> in place (and the verifier after it, when on).</summary>
    private void Optimise(IrBlock block)
    {
        _optimizer.Optimize(block);
        if (_verify) IrVerifier.ThrowIfInvalid(block, "optimisation");
        Statistics.BlocksOptimised++;
    }

    /// <summary>Only RAM can be watched; code fetched from MMIO or unbacked addresses is never cached.</summary>
    private bool IsPlainRam(ulong physical) => _physical.IsRam(physical, 1) && !_physical.IsMmio(physical);
}
