using System.Reflection.Emit;
using Drk.Dispatcher.Execution;
using Drk.Dispatcher.IR;
using Drk.Hv.Cpu;

namespace Drk.Dispatcher.Jit;

/// <summary>
/// Emits a trace (a path of blocks) as one method with the signature and exit convention of a
/// single block (<see cref="IlBlockEmitter"/>): each block's code in turn, and where a block's
/// exit goes to the next block of the path, or back to the head, a jump instead of a return.
/// </summary>
/// <remarks>
/// <para>
/// Every jump is a block boundary, where the run loop would retire the block and poll for
/// interrupts. So the jump first adds the block's instructions to the retired count, then leaves
/// the method instead (with exactly the result the block alone would have returned) when the
/// round's budget is reached, the trace was invalidated (one of its blocks' code was written), or
/// the APIC may have an interrupt. Everything else a block does is emitted by its own
/// <see cref="IlBlockEmitter"/>, which tags its out-of-line paths with the block's index so faults
/// are reported against the right block and instruction.
/// </para>
/// <para>
/// An indirect exit compares its target with the recorded one (the next block's, or the head's)
/// and jumps on a match: the inlined indirect-branch check of a trace. A direct exit to the start
/// of any block of the trace jumps there, so a side exit that rejoins the path stays inside.
/// </para>
/// </remarks>
internal sealed class IlTraceEmitter
{
    private readonly IrBlock[] _blocks;
    private readonly ILGenerator _il;
    private readonly MemoryAccessPath _path;
    private readonly nint _supervisorTlb;
    private readonly nint _userTlb;
    private readonly nint _interpreterTemps;
    private readonly TraceSlotCache _slotCache;
    private uint[] _entryReads = [];
    private readonly List<BlockResult> _exits = new();
    private readonly List<Action> _cold = new();
    private Label[] _labels = [];
    private LocalBuilder? _limitsLocal;
    private LocalBuilder? _retiredLocal;
    // The retired count as of the running block's start, kept alongside the state's field (every
    // boundary that stays writes both): nothing else changes the field while a trace goes on.
    private LocalBuilder? _retiredNow;
    // One return per exit and target for the boundaries that leave: many boundaries share one.
    private readonly Dictionary<(int Exit, ulong Rip), Label> _leaves = new();
    private LocalBuilder? _slots;
    private readonly bool _chain;
    private readonly bool[] _opensShadow;
    private readonly int _entryCpl;
    private readonly ulong _inlineSystem;
    private readonly int[] _joinedHeads;
    // Blocks whose tool callbacks see the state: RIP holds their start while they run, as in the interpreter.
    private readonly bool[] _callsTools;
    private int _chainSites;

    /// <param name="entryCpl">The CPL the trace is always entered at (its blocks were recorded there), or -1.</param>
    /// <param name="joinedHeads">Blocks, besides the next one and the head, whose start every indirect exit compares its target with (<see cref="Trace.JoinedHeads"/>).</param>
    /// <param name="inlineSystem">The system ops the blocks may do inline at CPL 0 (bit n: SystemOp n; <see cref="IlCompiler"/> asks the system).</param>
    public IlTraceEmitter(IrBlock[] blocks, ILGenerator il, MemoryAccessPath path, nint supervisorTlb, nint userTlb, nint interpreterTemps, int entryCpl = -1, int[]? joinedHeads = null,
        ulong inlineSystem = 0)
    {
        _entryCpl = entryCpl;
        _inlineSystem = inlineSystem;
        _joinedHeads = joinedHeads ?? [];
        _blocks = blocks;
        _il = il;
        _path = path;
        _supervisorTlb = supervisorTlb;
        _userTlb = userTlb;
        _interpreterTemps = interpreterTemps;
        _slotCache = new TraceSlotCache(il);
        // Chaining checks the translation generation, which only the MMU has.
        _chain = path == MemoryAccessPath.Mmu;
        _opensShadow = new bool[blocks.Length];
        _callsTools = new bool[blocks.Length];
        for (int k = 0; k < blocks.Length; k++)
            foreach (ref readonly var op in blocks[k].Ops)
            {
                if (op.Code == IrOpcode.System && (Drk.Hv.Cpu.SystemOp)op.Aux == Drk.Hv.Cpu.SystemOp.Sti) _opensShadow[k] = true;
                if (op.Code is IrOpcode.CleanCall or IrOpcode.Meta) _callsTools[k] = true;
            }
    }

    /// <summary>Whether a chain from this trace clears the interrupt shadow (a block of it may open one with STI): <see cref="CompiledBlock.ChainClearsShadow"/>.</summary>
    public bool ChainClearsShadow => Array.IndexOf(_opensShadow, true) >= 0;

    /// <summary>Chain sites emitted: plain exits that leave the trace (<see cref="CompiledBlock.ChainTargets"/> has one entry per site).</summary>
    public int ChainSites => _chainSites;

    /// <summary>The results of the method's exits, by the number it returns.</summary>
    public BlockResult[] Exits => _exits.ToArray();

    /// <summary>The tools' counters that CounterAdd ops and bulk string iterations add to.</summary>
    public CounterTable? Counters { get; init; }

    public void Emit()
    {
        var emitters = new IlBlockEmitter[_blocks.Length];
        bool memory = false;
        // No temp lives from one block into the next, so the blocks share one pool of locals.
        var pool = new Stack<LocalBuilder>();
        for (int k = 0; k < _blocks.Length; k++)
        {
            emitters[k] = new IlBlockEmitter(_blocks[k], _il, _path, _supervisorTlb, _userTlb, _interpreterTemps, _exits, k, this, pool, _entryCpl, _inlineSystem) { Counters = Counters };
            memory |= emitters[k].Analyse();
        }
        _labels = new Label[_blocks.Length];
        for (int k = 0; k < _labels.Length; k++) _labels[k] = _il.DefineLabel();
        _entryReads = new uint[_blocks.Length];
        for (int k = 0; k < _blocks.Length; k++)
        {
            emitters[k].UseSlotCache(_slotCache);
            _entryReads[k] = emitters[k].EntryReads;
        }

        emitters[0].EmitPrologue(memory);
        _slots = emitters[0].SlotsLocal;
        EmitBoundaryInvariants();
        SetSection(0);
        _slotCache.Load(_entryReads[0], _slots!);
        var sideEntry = _il.DefineLabel();
        if (_blocks.Length > 1)
        {
            _il.Emit(OpCodes.Ldloc, _limitsLocal!);
            _il.Emit(OpCodes.Ldfld, IlMembers.BudgetEntrySection);
            _il.Emit(OpCodes.Brtrue, sideEntry);
        }
        for (int k = 0; k < emitters.Length; k++)
        {
            if (k > 0) emitters[k].ShareLocals(emitters[0]);
            _il.MarkLabel(_labels[k]);
            if (BulkString.IsCandidate(_blocks[k], out bool copy, out int size, out var counters)) EmitBulkString(k, copy, size, counters, emitters[0].TlbLocal);
            emitters[k].EmitBody();
        }
        foreach (var e in emitters) e.EmitCold();
        foreach (var stub in _cold) stub();
        if (_blocks.Length > 1) EmitSideEntries(sideEntry);
    }

    /// <summary>
    /// Before a lone REP STOS or REP MOVS block (<see cref="BulkString"/>): while at least two
    /// iterations remain and DF is clear, as many iterations as the helper can do at once, with RCX,
    /// RDI (and RSI) advanced and the retired count moved on by as many; then the block runs its
    /// own iteration, which decides the exit. The registers are read from and written to the
    /// trace's slot locals, which hold them at every block start (they are among the block's
    /// entry reads), and written through to the state.
    /// </summary>
    private void EmitBulkString(int k, bool copy, int size, CounterStep[] counters, LocalBuilder? tlb)
    {
        uint needs = TraceSlotCache.Mask(GuestReg.Rcx) | TraceSlotCache.Mask(GuestReg.Rdi) | TraceSlotCache.Mask(GuestReg.FlagsOther)
            | TraceSlotCache.Mask(copy ? GuestReg.Rsi : GuestReg.Rax);
        if (!_chain || tlb is null || (_entryReads[k] & needs) != needs) return;
        var rcx = _slotCache.Local(GuestReg.Rcx);
        var done = _il.DefineLabel();
        var n = _il.DeclareLocal(typeof(ulong));
        _il.Emit(OpCodes.Ldloc, rcx);
        _il.Emit(OpCodes.Ldc_I8, 2L);
        _il.Emit(OpCodes.Blt_Un, done);
        _il.Emit(OpCodes.Ldloc, _slotCache.Local(GuestReg.FlagsOther));
        _il.Emit(OpCodes.Ldc_I8, (long)Rflags.DF);
        _il.Emit(OpCodes.And);
        _il.Emit(OpCodes.Brtrue, done);
        _il.Emit(OpCodes.Ldloc, _limitsLocal!);
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldfld, IlMembers.BlockMmu);
        _il.Emit(OpCodes.Ldloc, tlb);
        _il.Emit(OpCodes.Ldloc, _slotCache.Local(GuestReg.Rdi));
        _il.Emit(OpCodes.Ldloc, _slotCache.Local(copy ? GuestReg.Rsi : GuestReg.Rax));
        _il.Emit(OpCodes.Ldloc, rcx);
        _il.Emit(OpCodes.Ldloc, _retiredNow!);
        _il.Emit(OpCodes.Ldc_I4, size);
        _il.Emit(OpCodes.Call, copy ? IlMembers.BulkCopy : IlMembers.BulkFill);
        _il.Emit(OpCodes.Dup);
        _il.Emit(OpCodes.Stloc, n);
        _il.Emit(OpCodes.Brfalse, done);
        Advance(GuestReg.Rcx, n, 1, subtract: true);
        Advance(GuestReg.Rdi, n, size, subtract: false);
        if (copy) Advance(GuestReg.Rsi, n, size, subtract: false);
        // The iterations retired: the clock stands at the block's own iteration's start.
        _il.Emit(OpCodes.Ldloc, _retiredNow!);
        _il.Emit(OpCodes.Ldloc, n);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Stloc, _retiredNow!);
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldloc, _retiredNow!);
        _il.Emit(OpCodes.Stfld, IlMembers.InstructionsRetired);
        // A counting tool's counters: as much as the iterations would have added one by one.
        foreach (var step in counters)
        {
            IlBlockEmitter.EmitCounterAdd(_il, Counters!, step.Counter, () =>
            {
                _il.Emit(OpCodes.Ldloc, n);
                _il.Emit(OpCodes.Ldc_I8, step.Delta);
                _il.Emit(OpCodes.Mul);
            });
        }
        _il.MarkLabel(done);
    }

    /// <summary>Slot <paramref name="slot"/> (in its local, valid here) plus or minus <paramref name="n"/> times <paramref name="scale"/>, into the local and the slot.</summary>
    private void Advance(int slot, LocalBuilder n, int scale, bool subtract)
    {
        var local = _slotCache.Local(slot);
        _il.Emit(OpCodes.Ldloc, local);
        _il.Emit(OpCodes.Ldloc, n);
        if (scale != 1)
        {
            _il.Emit(OpCodes.Ldc_I8, (long)scale);
            _il.Emit(OpCodes.Mul);
        }
        _il.Emit(subtract ? OpCodes.Sub : OpCodes.Add);
        _il.Emit(OpCodes.Stloc, local);
        IlBlockEmitter.EmitSlotAddress(_il, _slots!, slot);
        _il.Emit(OpCodes.Ldloc, local);
        _il.Emit(OpCodes.Stind_I8);
    }

    /// <summary>
    /// Entry at a block other than the head (<see cref="CompiledBlock.RunFrom"/>): the budget says
    /// which; it goes back to 0 and the block runs as though the trace had jumped there. Nothing
    /// lives from one block into the next but the guest state, so any block start is an entry.
    /// The cached slots every block expects at its start are loaded once for all of them (the
    /// head's are already there), so the switch goes straight to the blocks: a stub per block cost
    /// RyuJIT a basic block each, and a side entry is rare.
    /// </summary>
    private void EmitSideEntries(Label sideEntry)
    {
        var section = _il.DeclareLocal(typeof(int));
        _il.MarkLabel(sideEntry);
        _il.Emit(OpCodes.Ldloc, _limitsLocal!);
        _il.Emit(OpCodes.Ldfld, IlMembers.BudgetEntrySection);
        _il.Emit(OpCodes.Stloc, section);
        _il.Emit(OpCodes.Ldloc, _limitsLocal!);
        _il.Emit(OpCodes.Ldc_I4_0);
        _il.Emit(OpCodes.Stfld, IlMembers.BudgetEntrySection);
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldloc, section);
        _il.Emit(OpCodes.Stfld, IlMembers.BlockSection);
        uint reads = 0;
        for (int k = 1; k < _blocks.Length; k++) reads |= _entryReads[k];
        _slotCache.Load(reads & ~_entryReads[0], _slots!);
        _il.Emit(OpCodes.Ldloc, section);
        _il.Emit(OpCodes.Switch, _labels);
        _il.Emit(OpCodes.Br, _labels[0]);
    }

    /// <summary>
    /// The block a direct exit of block <paramref name="section"/> to <paramref name="target"/> stays
    /// in, or -1: the next block of the path when it starts there, else any block of the trace that
    /// does (the head for a loop; another block for a side exit that joins the path again). Every
    /// block of the trace is as valid as the next one: the dispatcher checked all their pages at entry.
    /// </summary>
    private int Destination(int section, ulong target)
    {
        if (section + 1 < _blocks.Length && _blocks[section + 1].StartRip == target) return section + 1;
        for (int k = 0; k < _blocks.Length; k++)
            if (_blocks[k].StartRip == target) return k;
        return -1;
    }

    /// <summary>
    /// Called by block <paramref name="section"/>'s emitter at a direct exit to <paramref name="target"/>
    /// (RIP not stored): when the target is in the trace, emits the boundary and the jump and answers
    /// true (the emitter emits nothing more for the exit: it would be unreachable); false otherwise.
    /// </summary>
    public bool TryJump(int section, ulong target, BlockEnd end, int retired, uint validSlots)
    {
        int to = Destination(section, target);
        if (to < 0) return false;
        EmitBoundary(section, to, end, retired, validSlots);
        return true;
    }

    /// <summary>
    /// At an indirect exit of block <paramref name="section"/> (RIP not stored yet): jumps when the
    /// target (<paramref name="loadTarget"/> pushes it) is the recorded next block, the head, or the
    /// head of a trace joined to this one; falls through to the exit otherwise.
    /// </summary>
    /// <remarks>
    /// The boundary test comes once, before the comparisons: whichever block the target is, the
    /// block retires with the same count, and when the run loop must get control the exit below
    /// leaves as well as a jump would (it stores the target as RIP and returns, or tries to chain,
    /// which makes the same test). A joined trace compares many targets at each indirect exit (a
    /// region of calls and returns, dozens), and a test and a leaving path for each cost RyuJIT
    /// two basic blocks per target.
    /// </remarks>
    public void TryJumpIndirect(int section, Action loadTarget, int retired, uint validSlots)
    {
        ulong next = section + 1 < _blocks.Length ? _blocks[section + 1].StartRip : ulong.MaxValue;
        var targets = new List<int>();
        if (section + 1 < _blocks.Length) targets.Add(section + 1);
        if (_blocks[0].StartRip != next) targets.Add(0);
        foreach (int to in _joinedHeads)
            if (to != section + 1 && _blocks[to].StartRip != next && _blocks[to].StartRip != _blocks[0].StartRip)
                targets.Add(to);
        if (targets.Count == 0) return;
        var exit = _il.DefineLabel();
        EmitRetiredTest(() => _il.Emit(OpCodes.Ldc_I8, (long)retired), exit);
        foreach (int to in targets)
        {
            var other = _il.DefineLabel();
            loadTarget();
            _il.Emit(OpCodes.Ldc_I8, (long)_blocks[to].StartRip);
            _il.Emit(OpCodes.Bne_Un, other);
            EmitJump(section, to, validSlots);
            _il.MarkLabel(other);
        }
        _il.MarkLabel(exit);
    }

    /// <summary>
    /// Loads once, at entry, the budget every boundary compares against (its stop is read at each
    /// boundary: calls out of the trace may lower it).
    /// </summary>
    private void EmitBoundaryInvariants()
    {
        _limitsLocal = _il.DeclareLocal(typeof(TraceBudget));
        _retiredLocal = _il.DeclareLocal(typeof(ulong));
        _retiredNow = _il.DeclareLocal(typeof(ulong));
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldfld, IlMembers.InstructionsRetired);
        _il.Emit(OpCodes.Stloc, _retiredNow);
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldfld, IlMembers.BlockLimits);
        _il.Emit(OpCodes.Stloc, _limitsLocal);
    }

    /// <summary>
    /// Retires block <paramref name="from"/>, then jumps to block <paramref name="to"/> unless the run
    /// loop must get control here; <paramref name="validSlots"/> are the cached slots valid at the
    /// jump, and the ones block <paramref name="to"/> expects that are not are loaded first.
    /// </summary>
    private void EmitBoundary(int from, int to, BlockEnd end, int retired, uint validSlots)
    {
        EmitRetiredTest(() => _il.Emit(OpCodes.Ldc_I8, (long)retired), Leave(end, retired, _blocks[to].StartRip));
        EmitJump(from, to, validSlots);
    }

    /// <summary>
    /// After the boundary test let the jump go on: block <paramref name="from"/> retires (the count
    /// the test computed is stored) and the code jumps to block <paramref name="to"/>, loading the
    /// cached slots it expects that <paramref name="validSlots"/> says are not valid.
    /// </summary>
    private void EmitJump(int from, int to, uint validSlots)
    {
        StoreRetired();
        if (_opensShadow[from]) EmitClearShadow();
        if (_callsTools[to]) StoreRip(_blocks[to].StartRip);
        if (to != from) SetSection(to);
        _slotCache.Load(_entryReads[to] & ~validSlots, _slots!);
        _il.Emit(OpCodes.Br, _labels[to]);
    }

    /// <summary>
    /// Where a boundary to <paramref name="rip"/> goes when the run loop must get control: RIP is
    /// stored (the jumps that stay do not store it) and the block's own result returned, as the block
    /// alone would leave (the caller adds its count from the result). Shared by every boundary with
    /// the same exit and target.
    /// </summary>
    private Label Leave(BlockEnd end, int retired, ulong rip)
    {
        int exit = IlBlockEmitter.ExitNumber(_exits, end, retired);
        if (_leaves.TryGetValue((exit, rip), out var label)) return label;
        label = _il.DefineLabel();
        _leaves.Add((exit, rip), label);
        _cold.Add(() =>
        {
            _il.MarkLabel(label);
            StoreRip(rip);
            _il.Emit(OpCodes.Ldc_I4, exit);
            _il.Emit(OpCodes.Ret);
        });
        return label;
    }

    /// <summary>
    /// A block boundary's test: the retired count with the block's instructions (what
    /// <paramref name="pushCount"/> pushes, an int64) goes to a local, then the code jumps to
    /// <paramref name="leave"/>, nothing stored, when the run loop must get control here (the caller
    /// stores the count where it goes on, <see cref="StoreRetired"/>). One test serves: the
    /// dispatcher sets the budget's stop to the round's end or, when it comes first, the point where
    /// the APIC may have an interrupt; calls out of the trace lower it when they change either, or
    /// invalidate the trace (<c>CompiledBlock.TightenStop</c>).
    /// </summary>
    private void EmitRetiredTest(Action pushCount, Label leave)
    {
        // From the local, not the field: loading the count the last boundary stored put a
        // store-to-load round trip on every loop's critical path.
        _il.Emit(OpCodes.Ldloc, _retiredNow!);
        pushCount();
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Dup);
        _il.Emit(OpCodes.Stloc, _retiredLocal!);
        _il.Emit(OpCodes.Ldloc, _limitsLocal!);
        _il.Emit(OpCodes.Ldfld, IlMembers.BudgetStopRetired);
        _il.Emit(OpCodes.Bge_Un, leave);
        if (!_chain)
        {
            // Without the MMU's inline path (whose misses leave the trace), a store is a call that goes
            // on in the block without tightening the stop, so the trace's death is tested here.
            _il.Emit(OpCodes.Ldarg_0);
            _il.Emit(OpCodes.Ldfld, IlMembers.BlockTraceValid);
            _il.Emit(OpCodes.Brfalse, leave);
        }
    }

    /// <summary>Stores the count <see cref="EmitRetiredTest"/> computed: the block has retired.</summary>
    private void StoreRetired()
    {
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldloc, _retiredLocal!);
        _il.Emit(OpCodes.Stfld, IlMembers.InstructionsRetired);
        _il.Emit(OpCodes.Ldloc, _retiredLocal!);
        _il.Emit(OpCodes.Stloc, _retiredNow!);
    }

    /// <summary>
    /// The next block starts here, inside compiled code: an interrupt shadow an STI opened is over,
    /// as when the dispatcher starts a block (only emitted where an STI may have opened one).
    /// </summary>
    private void EmitClearShadow() => EmitStoreShadow(_il, open: false);

    /// <summary>Stores <paramref name="open"/> in the interrupt shadow of the state (argument 1): an STI opens it, a block that starts inside compiled code closes it.</summary>
    internal static void EmitStoreShadow(ILGenerator il, bool open)
    {
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Ldfld, IlMembers.Sys);
        il.Emit(open ? OpCodes.Ldc_I4_1 : OpCodes.Ldc_I4_0);
        il.Emit(OpCodes.Stfld, IlMembers.InterruptShadow);
    }

    /// <summary>
    /// Called by a block's emitter at a plain exit that leaves the trace (RIP stored), in place of
    /// returning exit <paramref name="exit"/>: tail-calls the chain stub (<see cref="TraceChainStub"/>)
    /// with the site's number, which returns that exit when it cannot go on. False when this trace
    /// does not chain (the caller returns as usual).
    /// </summary>
    public bool EmitChainExit(int exit, int retired)
    {
        if (!_chain) return false;
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldc_I4, _chainSites++);
        _il.Emit(OpCodes.Ldc_I4, exit);
        _il.Emit(OpCodes.Ldc_I4, retired);
        _il.Emit(OpCodes.Tailcall);
        _il.Emit(OpCodes.Call, TraceChainStub.Method);
        _il.Emit(OpCodes.Ret);
        return true;
    }

    /// <summary>
    /// After a SYSCALL or SYSRET that left its block (the result, already in
    /// <see cref="CompiledBlock.Result"/>, is what the generated code returns when this does not go
    /// on): when it jumped, the run loop would not have to look (the boundary test with the block's
    /// <paramref name="retired"/> instructions), no tool wants to see kernel entries, and the
    /// runtime's table for the new privilege level holds a live trace that starts where it landed,
    /// checked at the current translation generation, the block retires and that trace is
    /// tail-called, as a chain site would. Otherwise falls through, nothing stored.
    /// </summary>
    /// <param name="retired">The block's instructions, the SYSCALL or SYSRET included.</param>
    /// <param name="syscallReturn">For a SYSCALL, where SYSRET returns: a trace entered in user mode reports it to the tools that want kernel entries before it goes on (and says so to the run loop, should it not go on after all).</param>
    public void EmitSystemJumpChain(int retired, ulong? syscallReturn = null)
    {
        if (!_chain) return;
        var leave = _il.DefineLabel();
        var user = _il.DefineLabel();
        var table = _il.DefineLabel();
        var target = _il.DeclareLocal(typeof(CompiledBlock));
        var rip = _il.DeclareLocal(typeof(ulong));
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldflda, IlMembers.BlockResultField);
        _il.Emit(OpCodes.Call, IlMembers.ResultEnd);
        _il.Emit(OpCodes.Ldc_I4, (int)BlockEnd.SystemJump);
        _il.Emit(OpCodes.Bne_Un, leave);
        _il.Emit(OpCodes.Ldloc, _limitsLocal!);
        _il.Emit(OpCodes.Ldfld, IlMembers.BudgetSystemJumpsChain);
        _il.Emit(OpCodes.Brfalse, leave);
        EmitRetiredTest(() => _il.Emit(OpCodes.Ldc_I8, (long)retired), leave);
        bool reports = syscallReturn is not null && _entryCpl == 3;
        if (reports)
        {
            var quiet = _il.DefineLabel();
            _il.Emit(OpCodes.Ldloc, _limitsLocal!);
            _il.Emit(OpCodes.Ldfld, IlMembers.BudgetReportSyscalls);
            _il.Emit(OpCodes.Brfalse, quiet);
            _il.Emit(OpCodes.Ldarg_0);
            _il.Emit(OpCodes.Ldarg_1);
            _il.Emit(OpCodes.Ldc_I8, (long)syscallReturn!.Value);
            _il.Emit(OpCodes.Ldc_I4, retired);
            _il.Emit(OpCodes.Call, IlMembers.BlockReportSyscall);
            _il.MarkLabel(quiet);
        }
        RipSlotAddress();
        _il.Emit(OpCodes.Ldind_I8);
        _il.Emit(OpCodes.Stloc, rip);
        // The table of the privilege level the jump went to.
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldfld, IlMembers.Cpl);
        _il.Emit(OpCodes.Ldc_I4_3);
        _il.Emit(OpCodes.Beq, user);
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldfld, IlMembers.BlockSupervisorTraces);
        _il.Emit(OpCodes.Br, table);
        _il.MarkLabel(user);
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldfld, IlMembers.BlockUserTraces);
        _il.MarkLabel(table);
        EmitTableEntry(_il, rip);
        _il.Emit(OpCodes.Dup);
        _il.Emit(OpCodes.Stloc, target);
        var found = _il.DefineLabel();
        EmitStartsAtRip(_il, target, rip, found);
        _il.Emit(OpCodes.Br, leave);
        _il.MarkLabel(found);
        EmitTailCallIfCurrent(target, leave, () =>
        {
            EmitLevelChange();
            if (reports)
            {
                // Going on: the report was for this SYSCALL, not one the run loop will see.
                _il.Emit(OpCodes.Ldloc, _limitsLocal!);
                _il.Emit(OpCodes.Ldc_I4_0);
                _il.Emit(OpCodes.Stfld, IlMembers.BudgetSyscallReported);
            }
        });
        _il.MarkLabel(leave);
    }

    /// <summary>
    /// The privilege level changes inside compiled code: when the one left is the kernel's, its
    /// instructions since <see cref="TraceBudget.LevelStart"/> go to the budget's kernel count; the
    /// new level's instructions start at the count just stored.
    /// </summary>
    private void EmitLevelChange()
    {
        if (_entryCpl == 0)
        {
            _il.Emit(OpCodes.Ldloc, _limitsLocal!);
            _il.Emit(OpCodes.Dup);
            _il.Emit(OpCodes.Ldfld, IlMembers.BudgetKernelRetiredBeforeLevel);
            _il.Emit(OpCodes.Ldloc, _retiredLocal!);
            _il.Emit(OpCodes.Ldloc, _limitsLocal!);
            _il.Emit(OpCodes.Ldfld, IlMembers.BudgetLevelStart);
            _il.Emit(OpCodes.Sub);
            _il.Emit(OpCodes.Add);
            _il.Emit(OpCodes.Stfld, IlMembers.BudgetKernelRetiredBeforeLevel);
        }
        _il.Emit(OpCodes.Ldloc, _limitsLocal!);
        _il.Emit(OpCodes.Ldloc, _retiredLocal!);
        _il.Emit(OpCodes.Stfld, IlMembers.BudgetLevelStart);
    }

    /// <summary>
    /// Goes on into <paramref name="target"/> (which starts at the RIP just stored) when it is alive
    /// and its pages were checked at the current translation generation: the count the boundary
    /// test computed is stored, the target becomes the running code and is tail-called. Otherwise
    /// jumps to <paramref name="leave"/>, nothing stored.
    /// </summary>
    private void EmitTailCallIfCurrent(LocalBuilder target, Label leave, Action? beforeCall = null)
    {
        var main = _il.DeclareLocal(typeof(CompiledBlock));
        EmitLiveMain(_il, target, main, leave);
        StoreRetired();
        beforeCall?.Invoke();
        if (ChainClearsShadow) EmitClearShadow();
        EmitTailCallTarget(_il, _limitsLocal!, main, target);
    }

    /// <summary>
    /// Loads <paramref name="target"/>'s code into <paramref name="main"/> (an entry at a later block
    /// of a trace stands for the trace's own code: that is what runs) and jumps to
    /// <paramref name="leave"/> unless it is alive and its pages were checked at the current
    /// translation generation.
    /// </summary>
    internal static void EmitLiveMain(ILGenerator il, LocalBuilder target, LocalBuilder main, Label leave)
    {
        il.Emit(OpCodes.Ldloc, target);
        il.Emit(OpCodes.Ldfld, IlMembers.BlockMain);
        il.Emit(OpCodes.Dup);
        il.Emit(OpCodes.Stloc, main);
        il.Emit(OpCodes.Ldfld, IlMembers.BlockTraceValid);
        il.Emit(OpCodes.Brfalse, leave);
        il.Emit(OpCodes.Ldloc, main);
        il.Emit(OpCodes.Ldfld, IlMembers.BlockOwner);
        il.Emit(OpCodes.Ldfld, IlMembers.TraceCheckedGeneration);
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldfld, IlMembers.BlockMmu);
        il.Emit(OpCodes.Call, IlMembers.MmuTranslationGeneration);
        il.Emit(OpCodes.Bne_Un, leave);
    }

    /// <summary>
    /// Makes <paramref name="main"/> (the code of <paramref name="target"/>, an entry of it) the
    /// budget's current code, entered at <paramref name="target"/>'s block, counts the chain, and
    /// tail-calls it with the state: the stack stays flat however long the chain.
    /// </summary>
    internal static void EmitTailCallTarget(ILGenerator il, LocalBuilder limits, LocalBuilder main, LocalBuilder target)
    {
        // limits.Current = target.Main; limits.EntrySection = target.Entry; limits.Chains++
        il.Emit(OpCodes.Ldloc, limits);
        il.Emit(OpCodes.Dup);
        il.Emit(OpCodes.Ldloc, main);
        il.Emit(OpCodes.Stfld, IlMembers.BudgetCurrent);
        il.Emit(OpCodes.Dup);
        il.Emit(OpCodes.Ldloc, target);
        il.Emit(OpCodes.Ldfld, IlMembers.BlockEntry);
        il.Emit(OpCodes.Stfld, IlMembers.BudgetEntrySection);
        il.Emit(OpCodes.Dup);
        il.Emit(OpCodes.Ldfld, IlMembers.BudgetChains);
        il.Emit(OpCodes.Ldc_I8, 1L);
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Stfld, IlMembers.BudgetChains);
        il.Emit(OpCodes.Ldloc, main);
        il.Emit(OpCodes.Ldfld, IlMembers.BlockCode);
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Tailcall);
        il.Emit(OpCodes.Callvirt, IlMembers.CodeInvoke);
        il.Emit(OpCodes.Ret);
    }

    /// <summary>With a table of <see cref="JitRuntime.IndirectTraces"/> on the stack: replaces it with its entry for <paramref name="rip"/>.</summary>
    internal static void EmitTableEntry(ILGenerator il, LocalBuilder rip)
    {
        il.Emit(OpCodes.Ldloc, rip);
        il.Emit(OpCodes.Ldloc, rip);
        il.Emit(OpCodes.Ldc_I4, 10);
        il.Emit(OpCodes.Shr_Un);
        il.Emit(OpCodes.Xor);
        il.Emit(OpCodes.Conv_I4);
        il.Emit(OpCodes.Ldc_I4, JitRuntime.IndirectTraceCount - 1);
        il.Emit(OpCodes.And);
        il.Emit(OpCodes.Ldelem_Ref);
    }

    /// <summary>With the candidate trace on the stack (also in <paramref name="target"/>): jumps to <paramref name="found"/> when it is there and starts at <paramref name="rip"/>, else falls through.</summary>
    internal static void EmitStartsAtRip(ILGenerator il, LocalBuilder target, LocalBuilder rip, Label found)
    {
        var no = il.DefineLabel();
        il.Emit(OpCodes.Brfalse, no);
        il.Emit(OpCodes.Ldloc, target);
        il.Emit(OpCodes.Ldfld, IlMembers.BlockEntryRip);
        il.Emit(OpCodes.Ldloc, rip);
        il.Emit(OpCodes.Beq, found);
        il.MarkLabel(no);
    }

    private void StoreRip(ulong rip)
    {
        RipSlotAddress();
        _il.Emit(OpCodes.Ldc_I8, (long)rip);
        _il.Emit(OpCodes.Stind_I8);
    }

    /// <summary>Pushes the address of the RIP slot (through the slots reference the prologue loaded).</summary>
    private void RipSlotAddress() => IlBlockEmitter.EmitSlotAddress(_il, _slots!, Drk.Hv.Cpu.GuestReg.Rip);

    private void SetSection(int section)
    {
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldc_I4, section);
        _il.Emit(OpCodes.Stfld, IlMembers.BlockSection);
    }
}
