using System.Reflection.Emit;
using Drk.Dispatcher.Execution;
using Drk.Dispatcher.Flags;
using Drk.Dispatcher.IR;
using Drk.Hv.Cpu;
using Drk.Hv.Memory;

namespace Drk.Dispatcher.Jit;

/// <summary>
/// Emits the IL of one block: <c>int M(CompiledBlock self, VcpuState state)</c> (the exit code of
/// <see cref="CompiledBlock"/>) with the
/// semantics of <see cref="IrInterpreter"/> op for op.
/// </summary>
/// <remarks>
/// <para>
/// Temps are <c>ulong</c> locals holding zero-extended values, narrowed with the interpreter's
/// masks. Guest slots are written in place through a reference to <c>Slots[0]</c>, in op order, so
/// whatever leaves the block (an exit, a fault, a system instruction, a tool call, a TLB miss that
/// hands the block to the interpreter) sees exactly the state the interpreter would show. A block
/// alone reads them in place too (after the optimiser each slot is typically read once per block);
/// a trace's blocks also keep them in locals across blocks (<see cref="TraceSlotCache"/>).
/// </para>
/// <para>
/// The hot path is laid out straight; everything rare (TLB misses, faults, taken side exits) is
/// emitted after the block's terminator as stubs that return or jump on. A comparison whose
/// only use is an ExitIf, a RaiseIf or a Select is not materialised: it is emitted at the use as the branch
/// condition, which RyuJIT turns into one compare-and-jump.
/// </para>
/// </remarks>
internal sealed class IlBlockEmitter
{
    private readonly IrBlock _block;
    private readonly ILGenerator _il;
    private readonly MemoryAccessPath _path;
    private readonly nint _supervisorTlb;
    private readonly nint _userTlb;
    // Where a TLB miss stores the block's live temps before it hands the block to the interpreter.
    private readonly nint _interpreterTemps;
    // The CPL the method is always entered at (a trace's, which the dispatcher looks up by CPL and
    // whose chain sites only lead to traces of the same CPL), or -1: then the prologue selects the TLB.
    private readonly int _entryCpl = -1;
    // The system ops this method does itself instead of calling the system (bit n: SystemOp n);
    // only ever set at CPL 0, where ISystemInstructions.IsArchitecturalAtCpl0 vouched for them.
    private readonly ulong _inlineSystem;
    private readonly LocalBuilder?[] _temps;
    // Locals are recycled: a temp's local returns to the pool after its last use, so a block (or
    // a trace of many blocks) needs about as many locals as temps live at once. Hundreds of
    // locals made RyuJIT slow and, past the number it tracks, kept temps in memory.
    private readonly Stack<LocalBuilder> _pool;
    private readonly int[] _lastUse;
    private readonly bool[] _released;
    private readonly int[] _uses;
    private readonly int[] _def;
    private readonly bool[] _deferred;
    private readonly List<Action> _cold = new();
    private readonly List<BlockResult> _exits;
    private readonly int _section;
    private readonly IlTraceEmitter? _trace;
    private LocalBuilder _slots = null!;
    // In a trace: guest slots kept in locals across blocks, and which of them hold their slot's value here.
    private TraceSlotCache? _cache;
    private uint _valid;
    private LocalBuilder? _tlb;
    private LocalBuilder? _entry;

    public IlBlockEmitter(IrBlock block, ILGenerator il, MemoryAccessPath path, nint supervisorTlb, nint userTlb, nint interpreterTemps)
        : this(block, il, path, supervisorTlb, userTlb, interpreterTemps, new List<BlockResult>(), 0, null, new Stack<LocalBuilder>())
    {
    }

    /// <summary>The emitter of block <paramref name="section"/> of a trace: exits to the trace's next block (or its head) go through <paramref name="trace"/>.</summary>
    internal IlBlockEmitter(IrBlock block, ILGenerator il, MemoryAccessPath path, nint supervisorTlb, nint userTlb, nint interpreterTemps,
        List<BlockResult> exits, int section, IlTraceEmitter? trace, Stack<LocalBuilder> pool, int entryCpl = -1, ulong inlineSystem = 0)
    {
        _entryCpl = entryCpl;
        _inlineSystem = entryCpl == 0 ? inlineSystem & InlinableSystemOps : 0;
        _pool = pool;
        _lastUse = new int[block.TempCount];
        _released = new bool[block.TempCount];
        _exits = exits;
        _section = section;
        _trace = trace;
        _block = block;
        _il = il;
        _path = path;
        _supervisorTlb = supervisorTlb;
        _userTlb = userTlb;
        _interpreterTemps = interpreterTemps;
        _temps = new LocalBuilder?[block.TempCount];
        _uses = new int[block.TempCount];
        _def = new int[block.TempCount];
        _deferred = new bool[block.TempCount];
    }

    /// <summary>The results of the block's exits, by the number the generated code returns.</summary>
    public BlockResult[] Exits => _exits.ToArray();

    /// <summary>The tools' counters that CounterAdd ops add to (their addresses go into the code).</summary>
    public CounterTable? Counters { get; init; }

    public void Emit()
    {
        bool accessesMemory = Analyse();
        EmitPrologue(accessesMemory);
        EmitBody();
        EmitCold();
    }

    /// <summary>The method's entry: the null-state return, the slots reference, the TLB base when <paramref name="accessesMemory"/>.</summary>
    internal void EmitPrologue(bool accessesMemory)
    {
        // A null state returns at once: the compiler calls the new method that way so RyuJIT
        // compiles it on the compiling thread, not on the first real execution.
        var body = _il.DefineLabel();
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Brtrue, body);
        _il.Emit(OpCodes.Ldc_I4_0);
        _il.Emit(OpCodes.Ret);
        _il.MarkLabel(body);

        _slots = _il.DeclareLocal(typeof(ulong).MakeByRefType());
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldfld, IlMembers.Slots);
        // The array always holds every slot: no bounds check (ldelema on index 0 compiled to one
        // at every method entry, which a trace pays at every transition).
        _il.Emit(OpCodes.Call, IlMembers.ArrayDataReference);
        _il.Emit(OpCodes.Stloc, _slots);
        if (accessesMemory && _path == MemoryAccessPath.Mmu)
        {
            _tlb = _il.DeclareLocal(typeof(nint));
            _entry = _il.DeclareLocal(typeof(nint));
            if (_entryCpl < 0)
            {
                LoadTlb();
            }
            else
            {
                // Known at compile time: no load of the CPL and no branch at every entry.
                LdcI8((ulong)(_entryCpl == 3 ? _userTlb : _supervisorTlb));
                _il.Emit(OpCodes.Conv_I);
                _il.Emit(OpCodes.Stloc, _tlb);
            }
        }
    }

    /// <summary>
    /// The cacheable slots (<see cref="TraceSlotCache"/>) the block reads before it writes them or
    /// calls out: every jump into the block, in a trace, makes their locals valid. Set by <see cref="Analyse"/>.
    /// </summary>
    internal uint EntryReads { get; private set; }

    /// <summary>Keeps guest slots in <paramref name="cache"/>'s locals (a trace's blocks share one).</summary>
    internal void UseSlotCache(TraceSlotCache cache) => _cache = cache;

    /// <summary>The local holding the soft TLB's entries for the running privilege level (declared by <see cref="EmitPrologue"/> when a block accesses memory through the MMU's inline path; null otherwise).</summary>
    internal LocalBuilder? TlbLocal => _tlb;

    /// <summary>The <c>ref ulong</c> local addressing slot 0 (declared by <see cref="EmitPrologue"/>).</summary>
    internal LocalBuilder SlotsLocal => _slots;

    /// <summary>Uses the locals that <paramref name="first"/>'s prologue declared (the blocks of one trace share them).</summary>
    internal void ShareLocals(IlBlockEmitter first)
    {
        _slots = first._slots;
        _tlb = first._tlb;
        _entry = first._entry;
    }

    /// <summary>The block's ops, laid out straight.</summary>
    internal void EmitBody()
    {
        _valid = _cache is null ? 0 : EntryReads;
        bool terminated = false;
        var ops = _block.Ops;
        for (int i = 0; i < ops.Length && !terminated; i++)
        {
            terminated = EmitOp(i, ops[i]);
            if (WritesSlotsItself(ops[i])) _valid = 0; // the cached slots may be stale now
            ReleaseAfter(i, ops[i]);
        }
        if (!terminated)
        {
            _il.Emit(OpCodes.Ldarg_0);
            _il.Emit(OpCodes.Call, IlMembers.RanOffEnd);
            _il.Emit(OpCodes.Ret);
        }
    }

    /// <summary>The rare paths, after the body.</summary>
    internal void EmitCold()
    {
        // Stubs may add stubs (a side exit into a trace adds its leave path).
        for (int i = 0; i < _cold.Count; i++) _cold[i]();
    }

    /// <summary>Counts uses, records definitions, picks the conditions to emit at their use; true when the block loads or stores.</summary>
    internal bool Analyse()
    {
        Array.Fill(_def, -1);
        bool memory = false;
        var ops = _block.Ops;
        uint written = 0, entryReads = 0;
        bool calledOut = false;
        for (int i = 0; i < ops.Length; i++)
        {
            ref readonly var op = ref ops[i];
            if (op.Code == IrOpcode.GetReg && TraceSlotCache.Cacheable(op.Aux) && !calledOut && (written & TraceSlotCache.Mask(op.Aux)) == 0)
                entryReads |= TraceSlotCache.Mask(op.Aux);
            else if (op.Code == IrOpcode.PutReg && TraceSlotCache.Cacheable(op.Aux))
                written |= TraceSlotCache.Mask(op.Aux);
            else if (Inlines(op))
            {
                // Done inline: it reads its one slot, then writes it.
                uint slot = TraceSlotCache.Mask(InlineSystemSlot((SystemOp)op.Aux));
                if (!calledOut && (written & slot) == 0) entryReads |= slot;
                written |= slot;
            }
            else if (WritesSlotsItself(op))
                calledOut = true;
            Use(op.A);
            Use(op.B);
            Use(op.C);
            Use(op.D);
            if (op.Dst != IrOp.None && op.Dst < _def.Length) _def[op.Dst] = i;
            memory |= op.Code is IrOpcode.Load or IrOpcode.Store;
        }
        for (int i = 0; i < ops.Length; i++)
        {
            ref readonly var op = ref ops[i];
            bool branchOn = op.Code is IrOpcode.ExitIf or IrOpcode.RaiseIf or IrOpcode.Select;
            if (!branchOn || op.A == IrOp.None || op.A >= _def.Length || _uses[op.A] != 1 || _def[op.A] < 0) continue;
            ref readonly var producer = ref ops[_def[op.A]];
            // Comparisons are pure and cannot throw, so evaluating one later (its operands are SSA
            // temps, unchanged since) is invisible; so are flag conditions that compile inline.
            if (producer.Code is >= IrOpcode.CmpEq and <= IrOpcode.CmpLeS
                || (producer.Code == IrOpcode.CondFromFlags && TryConstant(producer.A, out ulong ccOp) && InlineFlagCondition((Condition)producer.Aux, ccOp, 0, 0, emit: false)))
                _deferred[op.A] = true;
        }
        Array.Fill(_lastUse, -1);
        for (int i = 0; i < ops.Length; i++)
        {
            ref readonly var op = ref ops[i];
            LastUse(op.A, i);
            LastUse(op.B, i);
            LastUse(op.C, i);
            LastUse(op.D, i);
        }
        // A condition emitted at its use reads its operands there.
        for (int i = 0; i < ops.Length; i++)
        {
            ref readonly var op = ref ops[i];
            if (op.A == IrOp.None || op.A >= _deferred.Length || !_deferred[op.A]) continue;
            ref readonly var producer = ref ops[_def[op.A]];
            LastUse(producer.A, i);
            LastUse(producer.B, i);
            LastUse(producer.C, i);
            LastUse(producer.D, i);
        }
        EntryReads = entryReads;
        return memory;
    }

    /// <summary>Ops whose call out may write guest slots itself: cached slots must be read again after them.</summary>
    private bool WritesSlotsItself(in IrOp op) => op.Code is IrOpcode.CleanCall or IrOpcode.Meta || (op.Code == IrOpcode.System && !Inlines(op));

    /// <summary>The system ops this emitter knows how to do itself (bit n: <see cref="SystemOp"/> n).</summary>
    internal const ulong InlinableSystemOps = 1UL << (int)SystemOp.Cli | 1UL << (int)SystemOp.Sti | 1UL << (int)SystemOp.Swapgs;

    /// <summary>Whether <paramref name="op"/> is a system op this method does inline (<see cref="EmitInlineSystem"/>).</summary>
    private bool Inlines(in IrOp op) => op.Code == IrOpcode.System && (_inlineSystem & (1UL << op.Aux)) != 0;

    /// <summary>The guest slot an inlined system op reads and writes.</summary>
    private static int InlineSystemSlot(SystemOp op) => op == SystemOp.Swapgs ? GuestReg.GsBase : GuestReg.FlagsOther;

    private void LastUse(ushort id, int index)
    {
        if (id != IrOp.None && id < _lastUse.Length && index > _lastUse[id]) _lastUse[id] = index;
    }

    /// <summary>Returns to the pool the locals of temps whose last use was op <paramref name="index"/> (and of a temp nobody reads).</summary>
    private void ReleaseAfter(int index, in IrOp op)
    {
        Release(op.A, index);
        Release(op.B, index);
        Release(op.C, index);
        Release(op.D, index);
        if (op.A != IrOp.None && op.A < _deferred.Length && _deferred[op.A])
        {
            ref readonly var producer = ref _block.Ops[_def[op.A]];
            Release(producer.A, index);
            Release(producer.B, index);
            Release(producer.C, index);
            Release(producer.D, index);
        }
        if (op.Dst != IrOp.None && op.Dst < _lastUse.Length && _lastUse[op.Dst] < 0) Release(op.Dst, -1);
    }

    private void Release(ushort id, int index)
    {
        if (id == IrOp.None || id >= _temps.Length || _lastUse[id] != index || _released[id] || _temps[id] is not { } local) return;
        // The temp keeps its local (stubs emitted after the body read it on paths that run at its
        // use); later temps may take the local over because they are defined after that use.
        _released[id] = true;
        _pool.Push(local);
    }

    private void Use(ushort id)
    {
        if (id != IrOp.None && id < _uses.Length) _uses[id]++;
    }

    private bool TryConstant(ushort id, out ulong value)
    {
        value = 0;
        if (id == IrOp.None || id >= _def.Length || _def[id] < 0) return false;
        ref readonly var op = ref _block.Ops[_def[id]];
        if (op.Code != IrOpcode.Const) return false;
        value = op.Imm;
        return true;
    }

    /// <summary>Emits op <paramref name="index"/>; true when it ends the block.</summary>
    private bool EmitOp(int index, IrOp op)
    {
        var t = op.Type;
        switch (op.Code)
        {
            case IrOpcode.Nop:
                return false;
            case IrOpcode.Const:
                LdcI8(op.Imm);
                St(op.Dst);
                return false;
            case IrOpcode.GetReg:
                LoadSlot(op.Aux);
                St(op.Dst);
                return false;
            case IrOpcode.PutReg:
                if (_cache is not null && TraceSlotCache.Cacheable(op.Aux))
                {
                    Ld(op.A);
                    StoreCachedSlot(op.Aux);
                    return false;
                }
                SlotAddress(op.Aux);
                Ld(op.A);
                _il.Emit(OpCodes.Stind_I8);
                return false;
            case IrOpcode.Load:
            case IrOpcode.Store:
                if (t is IrType.I1 or > IrType.I64) throw Unsupported(op, "access type");
                if (_path == MemoryAccessPath.Mmu) EmitTlbAccess(index, op);
                else EmitCallAccess(op);
                return false;

            case IrOpcode.Add: Binary(op, OpCodes.Add, mask: true); return false;
            case IrOpcode.Sub: Binary(op, OpCodes.Sub, mask: true); return false;
            case IrOpcode.Mul: Binary(op, OpCodes.Mul, mask: true); return false;
            case IrOpcode.And: Binary(op, OpCodes.And, mask: false); return false;
            case IrOpcode.Or: Binary(op, OpCodes.Or, mask: false); return false;
            case IrOpcode.Xor: Binary(op, OpCodes.Xor, mask: false); return false;
            case IrOpcode.MulHiU or IrOpcode.MulHiS when t is IrType.I8 or IrType.I16 or IrType.I32:
            {
                // The double-width product fits in 64 bits and the type is known here: multiply and
                // shift inline rather than call the evaluator's helper, which looks the width up.
                bool signed = op.Code == IrOpcode.MulHiS;
                int bits = Width(t);
                Ld(op.A);
                if (signed) SignExtend(bits);
                Ld(op.B);
                if (signed) SignExtend(bits);
                _il.Emit(OpCodes.Mul);
                LdcI4(bits);
                _il.Emit(signed ? OpCodes.Shr : OpCodes.Shr_Un);
                Mask(t);
                St(op.Dst);
                return false;
            }
            case IrOpcode.MulHiU:
            case IrOpcode.MulHiS:
                LdcI4((int)t);
                Ld(op.A);
                Ld(op.B);
                _il.Emit(OpCodes.Call, op.Code == IrOpcode.MulHiU ? IlMembers.MulHighUnsigned : IlMembers.MulHighSigned);
                St(op.Dst);
                return false;
            case IrOpcode.Shl:
                Ld(op.A);
                ShiftCount(op.B, t);
                _il.Emit(OpCodes.Shl);
                Mask(t);
                St(op.Dst);
                return false;
            case IrOpcode.Shr:
                Ld(op.A);
                ShiftCount(op.B, t);
                _il.Emit(OpCodes.Shr_Un);
                St(op.Dst);
                return false;
            case IrOpcode.Sar:
                Ld(op.A);
                SignExtend(Width(t));
                ShiftCount(op.B, t);
                _il.Emit(OpCodes.Shr);
                Mask(t);
                St(op.Dst);
                return false;
            case IrOpcode.Rol:
            case IrOpcode.Ror:
                Ld(op.A);
                Ld(op.B);
                LdcI4(Width(t));
                LdcI8(IrTypes.Mask(t));
                _il.Emit(OpCodes.Call, op.Code == IrOpcode.Rol ? IlMembers.RotateLeft : IlMembers.RotateRight);
                St(op.Dst);
                return false;

            case IrOpcode.DivU:
            case IrOpcode.RemU:
            case IrOpcode.DivS:
            case IrOpcode.RemS:
                EmitDivide(op);
                return false;

            case IrOpcode.Not:
                Ld(op.A);
                _il.Emit(OpCodes.Not);
                Mask(t);
                St(op.Dst);
                return false;
            case IrOpcode.Neg:
                Ld(op.A);
                _il.Emit(OpCodes.Neg);
                Mask(t);
                St(op.Dst);
                return false;
            case IrOpcode.Popcnt:
                Ld(op.A);
                _il.Emit(OpCodes.Call, IlMembers.PopCount);
                _il.Emit(OpCodes.Conv_I8);
                St(op.Dst);
                return false;
            case IrOpcode.Ctz:
            case IrOpcode.Clz:
                Ld(op.A);
                LdcI4(Width(t));
                _il.Emit(OpCodes.Call, op.Code == IrOpcode.Ctz ? IlMembers.Ctz : IlMembers.Clz);
                St(op.Dst);
                return false;
            case IrOpcode.Bswap:
                Ld(op.A);
                ByteSwap(t);
                St(op.Dst);
                return false;

            case >= IrOpcode.CmpEq and <= IrOpcode.CmpLeS:
            case IrOpcode.CondFromFlags:
                if (op.Dst != IrOp.None && _deferred[op.Dst]) return false;
                EmitCondition(op);
                _il.Emit(OpCodes.Conv_U8);
                St(op.Dst);
                return false;

            case IrOpcode.ZExt:
                Ld(op.A);
                St(op.Dst);
                return false;
            case IrOpcode.SExt:
                Ld(op.A);
                SignExtend(Width(_block.TypeOf(op.A)));
                Mask(t);
                St(op.Dst);
                return false;
            case IrOpcode.Trunc:
                Ld(op.A);
                Mask(t);
                St(op.Dst);
                return false;
            case IrOpcode.Select:
            {
                var ifFalse = _il.DefineLabel();
                var done = _il.DefineLabel();
                BranchOn(op.A, ifFalse, whenTrue: false);
                Ld(op.B);
                St(op.Dst);
                _il.Emit(OpCodes.Br, done);
                _il.MarkLabel(ifFalse);
                Ld(op.C);
                St(op.Dst);
                _il.MarkLabel(done);
                return false;
            }
            case IrOpcode.FlagsFromThunk:
                Ld(op.A);
                Ld(op.B);
                Ld(op.C);
                Ld(op.D);
                _il.Emit(OpCodes.Call, IlMembers.FlagsCompute);
                St(op.Dst);
                return false;

            case IrOpcode.ExitIf:
            {
                var taken = _il.DefineLabel();
                BranchOn(op.A, taken, whenTrue: true);
                uint validHere = _valid; // the stub is emitted later, when the block's end has its own
                _cold.Add(() =>
                {
                    _il.MarkLabel(taken);
                    if (_trace?.TryJump(_section, op.Imm, BlockEnd.Exit, op.Guest + 1, validHere) == true) return;
                    SetRip(op.Imm);
                    ReturnExit(BlockEnd.Exit, op.Guest + 1);
                });
                return false;
            }
            case IrOpcode.Exit:
                // Inside a trace the jump stores no RIP: only the paths that leave need it.
                if (_trace?.TryJump(_section, op.Imm, BlockEnd.Exit, op.Guest + 1, _valid) == true) return true;
                SetRip(op.Imm);
                ReturnExit(BlockEnd.Exit, op.Guest + 1);
                return true;
            case IrOpcode.ExitIndirect:
                // The inlined indirect-branch check: on the recorded target, stay in the trace.
                _trace?.TryJumpIndirect(_section, () => Ld(op.A), op.Guest + 1, _valid);
                SlotAddress(GuestReg.Rip);
                Ld(op.A);
                _il.Emit(OpCodes.Stind_I8);
                ReturnExit(BlockEnd.ExitIndirect, op.Guest + 1);
                return true;
            case IrOpcode.Raise:
                EmitRaise(op);
                return true;
            case IrOpcode.RaiseIf:
            {
                var raised = _il.DefineLabel();
                BranchOn(op.A, raised, whenTrue: true);
                _cold.Add(() =>
                {
                    _il.MarkLabel(raised);
                    EmitRaise(op);
                });
                return false;
            }
            case IrOpcode.SoftInt:
                _il.Emit(OpCodes.Ldarg_0);
                _il.Emit(OpCodes.Ldarg_1);
                LdcI4(InSection(op.Guest));
                LdcI4(op.Aux);
                LdcI8(op.Imm);
                _il.Emit(OpCodes.Call, IlMembers.SoftInt);
                _il.Emit(OpCodes.Ret);
                return true;

            case IrOpcode.System:
                if (Inlines(op)) EmitInlineSystem(op);
                else EmitSystem(index, op);
                return false;
            case IrOpcode.CounterAdd:
                EmitCounterAdd(_il, Counters!, checked((int)op.Imm), () => LdArgument(op.A));
                return false;
            case IrOpcode.CleanCall:
                _il.Emit(OpCodes.Ldarg_0);
                _il.Emit(OpCodes.Ldfld, IlMembers.BlockCleanCalls);
                LdcI8(op.Imm);
                LdArgument(op.A);
                LdArgument(op.B);
                LdArgument(op.C);
                LdArgument(op.D);
                _il.Emit(OpCodes.Call, IlMembers.CleanCallInvoke);
                if (_trace is not null)
                {
                    // A tool's callback may have written translated code or reached the APIC.
                    _il.Emit(OpCodes.Ldarg_0);
                    _il.Emit(OpCodes.Ldarg_1);
                    _il.Emit(OpCodes.Call, IlMembers.TightenStop);
                }
                return false;
            case IrOpcode.Meta:
                _il.Emit(OpCodes.Ldarg_0);
                _il.Emit(OpCodes.Ldarg_1);
                LdcI4(InSection(index));
                LdArgument(op.A);
                LdArgument(op.B);
                LdArgument(op.C);
                LdArgument(op.D);
                _il.Emit(OpCodes.Call, IlMembers.Meta);
                if (op.Dst != IrOp.None)
                {
                    // Values are zero-extended to their type, whatever a handler returns.
                    Mask(op.Type);
                    St(op.Dst);
                }
                else
                {
                    _il.Emit(OpCodes.Pop);
                }
                return false;

            default:
                throw Unsupported(op, "opcode");
        }
    }

    // ---- memory ------------------------------------------------------------------------------

    /// <summary>Selects the supervisor or user TLB by the MMU's vCPU's CPL, as <see cref="Mmu"/> does on every access.</summary>
    private void LoadTlb()
    {
        var done = _il.DefineLabel();
        LdcI8((ulong)_supervisorTlb);
        _il.Emit(OpCodes.Conv_I);
        _il.Emit(OpCodes.Stloc, _tlb!);
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldfld, IlMembers.BlockMmuState);
        _il.Emit(OpCodes.Ldfld, IlMembers.Cpl);
        LdcI4(3);
        _il.Emit(OpCodes.Bne_Un, done);
        LdcI8((ulong)_userTlb);
        _il.Emit(OpCodes.Conv_I);
        _il.Emit(OpCodes.Stloc, _tlb!);
        _il.MarkLabel(done);
    }

    /// <summary>
    /// The MMU's fast path inline (<see cref="TlbFastPath"/>): one tag compare, then a native load
    /// or store; a miss leaves the method and the interpreter runs the block on from this op
    /// (<see cref="EmitResumeExit"/>), refilling the entry or faulting.
    /// </summary>
    private void EmitTlbAccess(int index, IrOp op)
    {
        bool write = op.Code == IrOpcode.Store;
        int size = IrTypes.Bytes(op.Type);
        var miss = _il.DefineLabel();
        var done = _il.DefineLabel();

        _il.Emit(OpCodes.Ldloc, _tlb!);
        // ((address >> PageShift) & IndexMask) << EntryShift, as one shift and one mask.
        Ld(op.A);
        LdcI4(TlbFastPath.PageShift - TlbFastPath.EntryShift);
        _il.Emit(OpCodes.Shr_Un);
        LdcI8(TlbFastPath.IndexMask << TlbFastPath.EntryShift);
        _il.Emit(OpCodes.And);
        _il.Emit(OpCodes.Conv_I);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Stloc, _entry!);

        _il.Emit(OpCodes.Ldloc, _entry!);
        AddOffset(write ? TlbFastPath.WriteTagOffset : TlbFastPath.ReadTagOffset);
        _il.Emit(OpCodes.Ldind_I8);
        Ld(op.A);
        if (size > 1)
        {
            LdcI8((ulong)(size - 1));
            _il.Emit(OpCodes.Add);
        }
        LdcI8(~TlbFastPath.PageOffsetMask);
        _il.Emit(OpCodes.And);
        _il.Emit(OpCodes.Bne_Un, miss);

        _il.Emit(OpCodes.Ldloc, _entry!);
        AddOffset(TlbFastPath.HostAddendOffset);
        _il.Emit(OpCodes.Ldind_I);
        Ld(op.A);
        _il.Emit(OpCodes.Conv_I);
        _il.Emit(OpCodes.Add);
        if (write)
        {
            Ld(op.B);
            if (size < 8) _il.Emit(OpCodes.Conv_U4);
            _il.Emit(OpCodes.Unaligned, (byte)1);
            _il.Emit(size switch { 1 => OpCodes.Stind_I1, 2 => OpCodes.Stind_I2, 4 => OpCodes.Stind_I4, _ => OpCodes.Stind_I8 });
        }
        else
        {
            _il.Emit(OpCodes.Unaligned, (byte)1);
            _il.Emit(size switch { 1 => OpCodes.Ldind_U1, 2 => OpCodes.Ldind_U2, 4 => OpCodes.Ldind_U4, _ => OpCodes.Ldind_I8 });
            if (size < 8) _il.Emit(OpCodes.Conv_U8);
            St(op.Dst);
        }
        _il.MarkLabel(done);

        var live = LiveBefore(index);
        _cold.Add(() =>
        {
            _il.MarkLabel(miss);
            EmitResumeExit(index, live);
        });
    }

    /// <summary>
    /// The temps op <paramref name="index"/> and the ops after it read that ops before it wrote:
    /// what the interpreter needs to go on from there (the IR is SSA, so a temp's one definition and
    /// its last use bound where it is live).
    /// </summary>
    private ushort[] LiveBefore(int index)
    {
        var live = new List<ushort>();
        for (int id = 0; id < _def.Length; id++)
            if (_def[id] >= 0 && _def[id] < index && _lastUse[id] >= index) live.Add((ushort)id);
        return live.ToArray();
    }

    /// <summary>
    /// Leaves the method at op <paramref name="index"/> for the interpreter to run the block on from
    /// there (<see cref="CompiledBlock.ResumeExit"/>): the <paramref name="live"/> temps are stored
    /// where the interpreter keeps them, by number. The guest state needs nothing more: slots are
    /// written in op order, and a trace stores its retired count at every boundary it stays at, so
    /// the clock stands at this block's start. A leave instead of a call keeps every value of the
    /// hot path out of a call's reach, and costs RyuJIT less than a call site.
    /// </summary>
    private void EmitResumeExit(int index, ushort[] live)
    {
        foreach (ushort id in live)
        {
            LdcI8((ulong)(_interpreterTemps + id * sizeof(ulong)));
            _il.Emit(OpCodes.Conv_I);
            if (_temps[id] is null && _deferred[id])
            {
                // A comparison emitted only at its use: evaluate it here from its operands.
                EmitCondition(_block.Ops[_def[id]]);
                _il.Emit(OpCodes.Conv_U8);
            }
            else
            {
                Ld(id);
            }
            _il.Emit(OpCodes.Stind_I8);
        }
        LdcI4(CompiledBlock.ResumeExit(InSection(index)));
        _il.Emit(OpCodes.Ret);
    }

    /// <summary>Loads and stores as calls on the memory's concrete type (or its interface); a fault returns from a stub.</summary>
    private void EmitCallAccess(IrOp op)
    {
        bool write = op.Code == IrOpcode.Store;
        if (_path == MemoryAccessPath.Flat)
            EmitMemoryCall(op, IlMembers.BlockFlat, write ? IlMembers.FlatWrite : IlMembers.FlatRead, OpCodes.Call);
        else
            EmitMemoryCall(op, IlMembers.BlockMemory, write ? IlMembers.MemoryWrite : IlMembers.MemoryRead, OpCodes.Callvirt);
    }

    /// <summary>Calls Read/Write on the memory in <paramref name="memoryField"/>; on success the loaded value is in the result temp, on failure the block returns the fault.</summary>
    private void EmitMemoryCall(IrOp op, System.Reflection.FieldInfo memoryField, System.Reflection.MethodInfo method, OpCode call)
    {
        bool write = op.Code == IrOpcode.Store;
        var fault = _il.DefineLabel();
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldfld, memoryField);
        Ld(op.A);
        LdcI4(IrTypes.Bytes(op.Type));
        if (write)
        {
            Ld(op.B);
        }
        else
        {
            _il.Emit(OpCodes.Ldarg_0);
            _il.Emit(OpCodes.Ldflda, IlMembers.BlockValue);
        }
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldflda, IlMembers.BlockFault);
        _il.Emit(call, method);
        _il.Emit(OpCodes.Brfalse, fault);
        if (!write)
        {
            _il.Emit(OpCodes.Ldarg_0);
            _il.Emit(OpCodes.Ldfld, IlMembers.BlockValue);
            St(op.Dst);
        }
        _cold.Add(() =>
        {
            _il.MarkLabel(fault);
            _il.Emit(OpCodes.Ldarg_0);
            _il.Emit(OpCodes.Ldarg_1);
            LdcI4(InSection(op.Guest));
            _il.Emit(OpCodes.Call, IlMembers.MemoryFault);
            _il.Emit(OpCodes.Ret);
        });
    }

    // ---- arithmetic helpers -----------------------------------------------------------------------

    private void Binary(IrOp op, OpCode code, bool mask)
    {
        Ld(op.A);
        Ld(op.B);
        _il.Emit(code);
        if (mask) Mask(op.Type);
        St(op.Dst);
    }

    /// <summary>The count B taken modulo the width (a mask: widths are powers of two, or 1), as an int32.</summary>
    private void ShiftCount(ushort count, IrType type)
    {
        Ld(count);
        _il.Emit(OpCodes.Conv_I4);
        LdcI4(Width(type) - 1);
        _il.Emit(OpCodes.And);
    }

    private void EmitDivide(IrOp op)
    {
        var error = _il.DefineLabel();
        LdcI4((int)op.Code);
        LdcI4((int)op.Type);
        Ld(op.A);
        Ld(op.B);
        Ld(op.C);
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldflda, IlMembers.BlockValue);
        _il.Emit(OpCodes.Call, IlMembers.TryDivide);
        _il.Emit(OpCodes.Brfalse, error);
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldfld, IlMembers.BlockValue);
        St(op.Dst);
        _cold.Add(() =>
        {
            _il.MarkLabel(error);
            _il.Emit(OpCodes.Ldarg_0);
            _il.Emit(OpCodes.Ldarg_1);
            LdcI4(InSection(op.Guest));
            _il.Emit(OpCodes.Call, IlMembers.DivideError);
            _il.Emit(OpCodes.Ret);
        });
    }

    private void ByteSwap(IrType type)
    {
        switch (type)
        {
            case IrType.I16:
                _il.Emit(OpCodes.Conv_U2);
                _il.Emit(OpCodes.Call, IlMembers.Swap16);
                _il.Emit(OpCodes.Conv_U8);
                break;
            case IrType.I32:
                _il.Emit(OpCodes.Conv_U4);
                _il.Emit(OpCodes.Call, IlMembers.Swap32);
                _il.Emit(OpCodes.Conv_U8);
                break;
            case IrType.I64:
                _il.Emit(OpCodes.Call, IlMembers.Swap64);
                break;
        }
    }

    /// <summary>Sign-extends the int64 on the stack from its low <paramref name="bits"/> bits.</summary>
    private void SignExtend(int bits)
    {
        switch (bits)
        {
            case 8: _il.Emit(OpCodes.Conv_I1); _il.Emit(OpCodes.Conv_I8); break;
            case 16: _il.Emit(OpCodes.Conv_I2); _il.Emit(OpCodes.Conv_I8); break;
            case 32: _il.Emit(OpCodes.Conv_I4); _il.Emit(OpCodes.Conv_I8); break;
            case 64: break;
            default:
                LdcI4(64 - bits);
                _il.Emit(OpCodes.Shl);
                LdcI4(64 - bits);
                _il.Emit(OpCodes.Shr);
                break;
        }
    }

    private void Mask(IrType type)
    {
        if (type == IrType.I64) return;
        LdcI8(IrTypes.Mask(type));
        _il.Emit(OpCodes.And);
    }

    private static int Width(IrType type) => IrTypes.Bits(type);

    // ---- conditions --------------------------------------------------------------------------

    /// <summary>Branches to <paramref name="target"/> when the I1 temp is (or is not) set; a deferred condition is evaluated right here.</summary>
    private void BranchOn(ushort condition, Label target, bool whenTrue)
    {
        if (condition != IrOp.None && condition < _deferred.Length && _deferred[condition])
        {
            EmitCondition(_block.Ops[_def[condition]]);
            _il.Emit(whenTrue ? OpCodes.Brtrue : OpCodes.Brfalse, target);
            return;
        }
        Ld(condition);
        LdcI8(0);
        _il.Emit(whenTrue ? OpCodes.Bne_Un : OpCodes.Beq, target);
    }

    /// <summary>Pushes the int32 0/1 value of a comparison or flag condition.</summary>
    private void EmitCondition(IrOp op)
    {
        switch (op.Code)
        {
            case IrOpcode.CmpEq:
                Ld(op.A); Ld(op.B); _il.Emit(OpCodes.Ceq);
                break;
            case IrOpcode.CmpNe:
                Ld(op.A); Ld(op.B); _il.Emit(OpCodes.Ceq); Invert();
                break;
            case IrOpcode.CmpLtU:
                Ld(op.A); Ld(op.B); _il.Emit(OpCodes.Clt_Un);
                break;
            case IrOpcode.CmpLeU:
                Ld(op.A); Ld(op.B); _il.Emit(OpCodes.Cgt_Un); Invert();
                break;
            case IrOpcode.CmpLtS:
            case IrOpcode.CmpLeS:
            {
                int bits = Width(_block.TypeOf(op.A));
                Ld(op.A);
                SignExtend(bits);
                Ld(op.B);
                SignExtend(bits);
                if (op.Code == IrOpcode.CmpLtS) _il.Emit(OpCodes.Clt);
                else { _il.Emit(OpCodes.Cgt); Invert(); }
                break;
            }
            case IrOpcode.CondFromFlags:
                if (TryConstant(op.A, out ulong ccOp) && InlineFlagCondition((Condition)op.Aux, ccOp, op.B, op.C, emit: true)) break;
                LdcI4(op.Aux);
                Ld(op.A);
                Ld(op.B);
                Ld(op.C);
                Ld(op.D);
                _il.Emit(OpCodes.Call, IlMembers.FlagsEvaluate);
                break;
            default:
                throw Unsupported(op, "condition");
        }
    }

    /// <summary>
    /// A flag condition on a thunk whose cc_op is a compile-time constant, as one compare (the same
    /// reductions as <see cref="Optimization.FlagsSpecialisation"/>); false, emitting nothing, for
    /// the conditions left to <see cref="FlagsCalculator.Evaluate"/>.
    /// </summary>
    /// <remarks>
    /// Like the optimiser's specialisation, this relies on the thunk contract of
    /// <see cref="FlagsKind"/> (operands zero-extended from the operation's width), which every
    /// thunk the lowering writes obeys; there it gives exactly what the calculator gives.
    /// </remarks>
    private bool InlineFlagCondition(Condition cond, ulong ccOp, ushort dep1, ushort dep2, bool emit)
    {
        int top = (8 << (int)(ccOp & 3)) - 1;
        switch ((FlagsKind)(ccOp >> 2))
        {
            case FlagsKind.Sub:
            {
                int up = 63 - top;
                switch (cond)
                {
                    case Condition.E or Condition.NE:
                        if (!emit) return true;
                        Ld(dep1); Ld(dep2); _il.Emit(OpCodes.Ceq);
                        if (cond == Condition.NE) Invert();
                        return true;
                    case Condition.B or Condition.AE:
                        if (!emit) return true;
                        Ld(dep1); Ld(dep2); _il.Emit(OpCodes.Clt_Un);
                        if (cond == Condition.AE) Invert();
                        return true;
                    case Condition.A or Condition.BE:
                        if (!emit) return true;
                        Ld(dep1); Ld(dep2); _il.Emit(OpCodes.Cgt_Un);
                        if (cond == Condition.BE) Invert();
                        return true;
                    case Condition.L or Condition.GE:
                        if (!emit) return true;
                        ShiftedUp(dep1, up); ShiftedUp(dep2, up); _il.Emit(OpCodes.Clt);
                        if (cond == Condition.GE) Invert();
                        return true;
                    case Condition.G or Condition.LE:
                        if (!emit) return true;
                        ShiftedUp(dep1, up); ShiftedUp(dep2, up); _il.Emit(OpCodes.Cgt);
                        if (cond == Condition.LE) Invert();
                        return true;
                    case Condition.S or Condition.NS:
                        if (!emit) return true;
                        Ld(dep1); Ld(dep2); _il.Emit(OpCodes.Sub);
                        BitAt(top);
                        if (cond == Condition.NS) Invert();
                        return true;
                }
                return false;
            }
            case FlagsKind.Logic:
                if (cond is Condition.P or Condition.NP) return false;
                if (!emit) return true;
                switch (cond)
                {
                    case Condition.E or Condition.BE:
                        Ld(dep1); LdcI8(0); _il.Emit(OpCodes.Ceq);
                        break;
                    case Condition.NE or Condition.A:
                        Ld(dep1); LdcI8(0); _il.Emit(OpCodes.Ceq); Invert();
                        break;
                    case Condition.B or Condition.O:
                        LdcI4(0);
                        break;
                    case Condition.AE or Condition.NO:
                        LdcI4(1);
                        break;
                    case Condition.S or Condition.L:
                        Ld(dep1); BitAt(top);
                        break;
                    case Condition.NS or Condition.GE:
                        Ld(dep1); BitAt(top); Invert();
                        break;
                    case Condition.LE or Condition.G:
                        Ld(dep1); LdcI8(0); _il.Emit(OpCodes.Ceq);
                        Ld(dep1); BitAt(top);
                        _il.Emit(OpCodes.Or);
                        if (cond == Condition.G) Invert();
                        break;
                }
                return true;
            case FlagsKind.Add:
            {
                ulong mask = ulong.MaxValue >> (63 - top);
                switch (cond)
                {
                    case Condition.E or Condition.NE:
                        if (!emit) return true;
                        AddResult(dep1, dep2, mask); LdcI8(0); _il.Emit(OpCodes.Ceq);
                        if (cond == Condition.NE) Invert();
                        return true;
                    case Condition.B or Condition.AE:
                        if (!emit) return true;
                        AddResult(dep1, dep2, mask); Ld(dep1); _il.Emit(OpCodes.Clt_Un);
                        if (cond == Condition.AE) Invert();
                        return true;
                    case Condition.BE or Condition.A:
                        if (!emit) return true;
                        AddResult(dep1, dep2, mask); Ld(dep1); _il.Emit(OpCodes.Clt_Un);
                        AddResult(dep1, dep2, mask); LdcI8(0); _il.Emit(OpCodes.Ceq);
                        _il.Emit(OpCodes.Or);
                        if (cond == Condition.A) Invert();
                        return true;
                    case Condition.S or Condition.NS:
                        if (!emit) return true;
                        AddResult(dep1, dep2, mask); BitAt(top);
                        if (cond == Condition.NS) Invert();
                        return true;
                }
                return false;
            }
            case FlagsKind.Inc or FlagsKind.Dec or FlagsKind.Shl or FlagsKind.Shr or FlagsKind.Sar:
            {
                // ZF and SF from the result in dep1; CF only for the shifts (INC and DEC keep the old one).
                var kind = (FlagsKind)(ccOp >> 2);
                switch (cond)
                {
                    case Condition.E or Condition.NE:
                        if (!emit) return true;
                        Ld(dep1); LdcI8(0); _il.Emit(OpCodes.Ceq);
                        if (cond == Condition.NE) Invert();
                        return true;
                    case Condition.S or Condition.NS:
                        if (!emit) return true;
                        Ld(dep1); BitAt(top);
                        if (cond == Condition.NS) Invert();
                        return true;
                    case Condition.B or Condition.AE when kind is FlagsKind.Shl or FlagsKind.Shr or FlagsKind.Sar:
                        // The last bit shifted out: at the top of dep2 for SHL, at bit 0 for SHR and SAR.
                        if (!emit) return true;
                        Ld(dep2); BitAt(kind == FlagsKind.Shl ? top : 0);
                        if (cond == Condition.AE) Invert();
                        return true;
                }
                return false;
            }
        }
        return false;
    }

    private void ShiftedUp(ushort id, int up)
    {
        Ld(id);
        if (up == 0) return;
        LdcI4(up);
        _il.Emit(OpCodes.Shl);
    }

    private void AddResult(ushort dep1, ushort dep2, ulong mask)
    {
        Ld(dep1);
        Ld(dep2);
        _il.Emit(OpCodes.Add);
        if (mask != ulong.MaxValue)
        {
            LdcI8(mask);
            _il.Emit(OpCodes.And);
        }
    }

    /// <summary>Replaces the int64 on the stack by its bit <paramref name="bit"/> as an int32 0/1.</summary>
    private void BitAt(int bit)
    {
        if (bit != 0)
        {
            LdcI4(bit);
            _il.Emit(OpCodes.Shr_Un);
        }
        LdcI8(1);
        _il.Emit(OpCodes.And);
        _il.Emit(OpCodes.Conv_I4);
    }

    /// <summary>Turns the int32 0/1 on the stack into 1/0.</summary>
    private void Invert()
    {
        _il.Emit(OpCodes.Ldc_I4_0);
        _il.Emit(OpCodes.Ceq);
    }

    // ---- leaving the block ------------------------------------------------------------------

    private void EmitRaise(IrOp op)
    {
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldarg_1);
        LdcI4(InSection(op.Guest));
        LdcI4(op.Aux);
        LdcI8(op.Imm);
        _il.Emit(OpCodes.Call, IlMembers.Raise);
        _il.Emit(OpCodes.Ret);
    }

    /// <summary>Pushes guest slot <paramref name="slot"/>: from its local in a trace when that holds it, else from the state.</summary>
    private void LoadSlot(int slot)
    {
        if (_cache is not null && TraceSlotCache.Cacheable(slot))
        {
            var cached = _cache.Local(slot);
            if ((_valid & TraceSlotCache.Mask(slot)) == 0)
            {
                SlotAddress(slot);
                _il.Emit(OpCodes.Ldind_I8);
                _il.Emit(OpCodes.Stloc, cached);
                _valid |= TraceSlotCache.Mask(slot);
            }
            _il.Emit(OpCodes.Ldloc, cached);
            return;
        }
        SlotAddress(slot);
        _il.Emit(OpCodes.Ldind_I8);
    }

    /// <summary>Pops a value into cacheable slot <paramref name="slot"/> and its local (written through: the slot stays what the interpreter would show).</summary>
    private void StoreCachedSlot(int slot)
    {
        var cached = _cache!.Local(slot);
        _il.Emit(OpCodes.Stloc, cached);
        SlotAddress(slot);
        _il.Emit(OpCodes.Ldloc, cached);
        _il.Emit(OpCodes.Stind_I8);
        _valid |= TraceSlotCache.Mask(slot);
    }

    /// <summary>Pops a value into guest slot <paramref name="slot"/>.</summary>
    private void StoreSlot(int slot)
    {
        if (_cache is not null && TraceSlotCache.Cacheable(slot))
        {
            StoreCachedSlot(slot);
            return;
        }
        var value = FreeLocal();
        _il.Emit(OpCodes.Stloc, value);
        SlotAddress(slot);
        _il.Emit(OpCodes.Ldloc, value);
        _il.Emit(OpCodes.Stind_I8);
        _pool.Push(value);
    }

    /// <summary>A ulong local from the pool (free locals hold no live temp here), or a new one: a temp's, or a scratch the caller pushes back.</summary>
    private LocalBuilder FreeLocal() => _pool.Count > 0 ? _pool.Pop() : _il.DeclareLocal(typeof(ulong));

    /// <summary>
    /// CLI, STI or SWAPGS at CPL 0, where none can fault, done here rather than by a call to the
    /// system: the call made every guest slot the trace keeps in a local be read again after it,
    /// and the kernel's system-call path runs SWAPGS twice, STI and CLI once per call. The system
    /// vouched that its own code does just this (<see cref="ISystemInstructions.IsArchitecturalAtCpl0"/>);
    /// none of them moves the point where an interrupt is due, so the stop stays as it was.
    /// </summary>
    private void EmitInlineSystem(IrOp op)
    {
        // Their result is 0, as the system reports it (nothing reads it).
        if (op.Dst != IrOp.None)
        {
            LdcI8(0);
            St(op.Dst);
        }
        switch ((SystemOp)op.Aux)
        {
            case SystemOp.Cli:
                LoadSlot(GuestReg.FlagsOther);
                LdcI8(~Rflags.IF);
                _il.Emit(OpCodes.And);
                StoreSlot(GuestReg.FlagsOther);
                return;
            case SystemOp.Sti:
            {
                // Enabling interrupts that were off opens the one-instruction shadow.
                var flags = FreeLocal();
                var wasOn = _il.DefineLabel();
                LoadSlot(GuestReg.FlagsOther);
                _il.Emit(OpCodes.Stloc, flags);
                _il.Emit(OpCodes.Ldloc, flags);
                LdcI8(Rflags.IF);
                _il.Emit(OpCodes.And);
                _il.Emit(OpCodes.Brtrue, wasOn);
                IlTraceEmitter.EmitStoreShadow(_il, open: true);
                _il.MarkLabel(wasOn);
                _il.Emit(OpCodes.Ldloc, flags);
                LdcI8(Rflags.IF);
                _il.Emit(OpCodes.Or);
                StoreSlot(GuestReg.FlagsOther);
                _pool.Push(flags);
                return;
            }
            case SystemOp.Swapgs:
            {
                // (GS base, KERNEL_GS_BASE) = (KERNEL_GS_BASE, GS base)
                var kernel = FreeLocal();
                _il.Emit(OpCodes.Ldarg_1);
                _il.Emit(OpCodes.Ldfld, IlMembers.Sys);
                _il.Emit(OpCodes.Ldfld, IlMembers.KernelGsBase);
                _il.Emit(OpCodes.Stloc, kernel);
                _il.Emit(OpCodes.Ldarg_1);
                _il.Emit(OpCodes.Ldfld, IlMembers.Sys);
                LoadSlot(GuestReg.GsBase);
                _il.Emit(OpCodes.Stfld, IlMembers.KernelGsBase);
                _il.Emit(OpCodes.Ldloc, kernel);
                StoreSlot(GuestReg.GsBase);
                _pool.Push(kernel);
                return;
            }
            default:
                throw Unsupported(op, "this system op inline");
        }
    }

    private void EmitSystem(int index, IrOp op)
    {
        var ends = _il.DefineLabel();
        // SYSCALL and SYSRET first try the direct path, which ends the block just as System's
        // jump does; System still does them when they fault (and every other system op).
        if ((SystemOp)op.Aux is SystemOp.Syscall or SystemOp.Sysretq)
        {
            _il.Emit(OpCodes.Ldarg_0);
            _il.Emit(OpCodes.Ldarg_1);
            if ((SystemOp)op.Aux == SystemOp.Syscall) LdArgument(op.A);
            LdcI4(op.Guest + 1);
            _il.Emit(OpCodes.Call, (SystemOp)op.Aux == SystemOp.Syscall ? IlMembers.FastSyscall : IlMembers.FastSysret);
            _il.Emit(OpCodes.Brtrue, ends);
        }
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldarg_1);
        LdcI4(InSection(index));
        LdArgument(op.A);
        LdArgument(op.B);
        _il.Emit(OpCodes.Call, IlMembers.SystemCall);
        _il.Emit(OpCodes.Brfalse, ends);
        if (op.Dst != IrOp.None)
        {
            _il.Emit(OpCodes.Ldarg_0);
            _il.Emit(OpCodes.Ldfld, IlMembers.BlockValue);
            St(op.Dst);
        }
        // A system instruction may change the CPL, which selects the TLB.
        if (_tlb is not null) LoadTlb();
        _cold.Add(() =>
        {
            _il.MarkLabel(ends);
            // A trace's last block may end in SYSCALL or SYSRET: where it lands may be a trace too.
            if (TraceSafeSystemOps.LeavesAlways((SystemOp)op.Aux))
                _trace?.EmitSystemJumpChain(op.Guest + 1, (SystemOp)op.Aux == SystemOp.Syscall ? _block.Instructions[op.Guest].NextRip : null);
            LdcI4(CompiledBlock.ResultInField);
            _il.Emit(OpCodes.Ret);
        });
    }

    private void SetRip(ulong rip)
    {
        SlotAddress(GuestReg.Rip);
        LdcI8(rip);
        _il.Emit(OpCodes.Stind_I8);
    }

    /// <summary>Returns the number of the exit whose result is (<paramref name="end"/>, <paramref name="retired"/>).</summary>
    private void ReturnResult(BlockEnd end, int retired) => EmitReturn(_il, _exits, end, retired);

    /// <summary>A plain exit (direct or indirect, RIP stored): in a trace it may go on into another trace (<see cref="IlTraceEmitter.EmitChainExit"/>); otherwise the return.</summary>
    private void ReturnExit(BlockEnd end, int retired)
    {
        if (_trace is null || !_trace.EmitChainExit(ExitNumber(_exits, end, retired), retired)) ReturnResult(end, retired);
    }

    /// <summary>Emits the return of the exit number for (<paramref name="end"/>, <paramref name="retired"/>), adding it to <paramref name="exits"/> if new (in a trace the block is told by <see cref="CompiledBlock.Section"/>).</summary>
    internal static void EmitReturn(ILGenerator il, List<BlockResult> exits, BlockEnd end, int retired)
    {
        il.Emit(OpCodes.Ldc_I4, ExitNumber(exits, end, retired));
        il.Emit(OpCodes.Ret);
    }

    /// <summary>The number of the exit whose result is (<paramref name="end"/>, <paramref name="retired"/>), added to <paramref name="exits"/> if new.</summary>
    internal static int ExitNumber(List<BlockResult> exits, BlockEnd end, int retired)
    {
        int exit = exits.FindIndex(r => r.End == end && r.Retired == retired);
        if (exit < 0)
        {
            exit = exits.Count;
            exits.Add(new BlockResult(end, retired));
        }
        return exit;
    }

    /// <summary>A guest-instruction or op index as out-of-line paths get it: with the trace section above <see cref="CompiledBlock.SectionShift"/>.</summary>
    private int InSection(int index) => index | (_section << CompiledBlock.SectionShift);

    // ---- locals and constants ----------------------------------------------------------------

    private void SlotAddress(int slot)
    {
        if ((uint)slot >= GuestReg.Count) throw new NotSupportedException($"guest slot {slot} is out of range");
        EmitSlotAddress(_il, _slots, slot);
    }

    /// <summary>Pushes the address of guest slot <paramref name="slot"/> from <paramref name="slots"/>, the <c>ref ulong</c> local to slot 0.</summary>
    internal static void EmitSlotAddress(ILGenerator il, LocalBuilder slots, int slot)
    {
        il.Emit(OpCodes.Ldloc, slots);
        if (slot == 0) return;
        il.Emit(OpCodes.Ldc_I4, slot * sizeof(ulong));
        il.Emit(OpCodes.Add);
    }

    private void AddOffset(int offset)
    {
        if (offset == 0) return;
        LdcI4(offset);
        _il.Emit(OpCodes.Add);
    }

    private LocalBuilder Temp(ushort id)
    {
        if (id == IrOp.None || id >= _temps.Length) throw new NotSupportedException($"temp {id} is not a temp of the block");
        return _temps[id] ??= FreeLocal();
    }

    private void Ld(ushort id) => _il.Emit(OpCodes.Ldloc, Temp(id));

    private void St(ushort id) => _il.Emit(OpCodes.Stloc, Temp(id));

    /// <summary>An operand of a call-out: 0 when absent, as the interpreter passes it.</summary>
    private void LdArgument(ushort id)
    {
        if (id == IrOp.None) LdcI8(0);
        else Ld(id);
    }

    private void LdcI8(ulong value) => _il.Emit(OpCodes.Ldc_I8, (long)value);

    /// <summary>
    /// Adds the I64 that <paramref name="pushAmount"/> pushes to counter <paramref name="counter"/>:
    /// one add to memory at the counter's fixed address (<see cref="CounterTable"/>).
    /// </summary>
    internal static void EmitCounterAdd(ILGenerator il, CounterTable counters, int counter, Action pushAmount)
    {
        il.Emit(OpCodes.Ldc_I8, (long)counters.AddressOf(counter));
        il.Emit(OpCodes.Conv_I);
        il.Emit(OpCodes.Dup);
        il.Emit(OpCodes.Ldind_I8);
        pushAmount();
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Stind_I8);
    }

    private void LdcI4(int value) => _il.Emit(OpCodes.Ldc_I4, value);

    private static NotSupportedException Unsupported(IrOp op, string what) =>
        new($"the JIT tier cannot compile {what} of op {op}");
}
