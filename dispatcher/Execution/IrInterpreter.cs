using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Drk.Dispatcher.Flags;
using Drk.Dispatcher.IR;
using Drk.Hv.Cpu;
using Drk.Hv.Memory;

namespace Drk.Dispatcher.Execution;

/// <summary>
/// Tier 0: executes a block's IR op by op against a vCPU state, guest memory and the
/// hypervisor's system instructions, with exactly the semantics documented on <see cref="IrOpcode"/>.
/// </summary>
/// <remarks>
/// <para>
/// Temps live in one reusable array, so executing a block allocates nothing (a #UD report
/// allocates its byte array). Faults are values: a faulting access, #DE, a Raise or a faulting
/// system instruction ends the block with <see cref="BlockEnd.Fault"/>, RIP set to the faulting
/// instruction's RIP. Because the lowering emits every op that may fault before any op that
/// changes guest state (see <c>LoweringContext</c>), the state is then as it was before that
/// instruction.
/// </para>
/// <para>Not thread-safe: one interpreter per vCPU.</para>
/// </remarks>
public sealed class IrInterpreter
{
    private readonly IGuestMemory _memory;
    private readonly ISystemInstructions? _system;
    private readonly IMetaOpHandler?[] _metaHandlers = new IMetaOpHandler?[256];
    // One slot for every possible temp number (temps are ushorts), so an op's operand can index
    // it without a bounds check and still never leave the array, whatever block it is given.
    // Pinned: compiled code that hands a block over in its middle (ResumeAt) writes the live temps
    // here at an address fixed when it was compiled.
    private readonly ulong[] _temps = GC.AllocateArray<ulong>(ushort.MaxValue + 1, pinned: true);
    private BlockResult _systemResult;
    // What a faulting Load or Store reported: a field, not a local of ResumeAt, whose frame would
    // then hold a struct with a reference that the JIT zeroes at every block.
    private GuestFault _accessFault;

    public IrInterpreter(IGuestMemory memory, ISystemInstructions? system = null, CleanCallTable? cleanCalls = null, CounterTable? counters = null)
    {
        _memory = memory;
        _system = system;
        CleanCalls = cleanCalls ?? new CleanCallTable();
        Counters = counters ?? new CounterTable();
    }

    /// <summary>The callbacks CleanCall ops invoke.</summary>
    public CleanCallTable CleanCalls { get; }

    /// <summary>The counters CounterAdd ops add to.</summary>
    public CounterTable Counters { get; }

    /// <summary>Executes Meta ops whose Aux is <paramref name="kind"/> with <paramref name="handler"/>; Meta ops without a handler do nothing and yield 0.</summary>
    public void RegisterMetaHandler(byte kind, IMetaOpHandler handler) => _metaHandlers[kind] = handler;

    /// <summary>The handler registered for Meta ops of <paramref name="kind"/>, if any (the JIT tier runs the same handlers).</summary>
    internal IMetaOpHandler? MetaHandler(byte kind) => _metaHandlers[kind];

    /// <summary>
    /// Executes <paramref name="block"/> from its first op until it leaves, says why, and adds the
    /// instructions it retired to <see cref="VcpuState.InstructionsRetired"/> (the virtual clock).
    /// </summary>
    public BlockResult Execute(IrBlock block, VcpuState state) => ResumeAt(block, state, 0);

    /// <summary>
    /// Host address of temp 0 of the interpreter's temps (8 bytes each, by temp number), fixed for
    /// the interpreter's life: compiled code that leaves a block in its middle stores the block's
    /// live temps there before <see cref="ResumeAt"/> runs the rest.
    /// </summary>
    internal unsafe nint TempsAddress => (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_temps));

    /// <summary>
    /// Executes <paramref name="block"/> from op <paramref name="firstOp"/> on, as
    /// <see cref="Execute"/> would have gone on there: the temps the rest reads must already hold the
    /// values the ops before it gave them (see <see cref="TempsAddress"/>), and the guest state must
    /// be what those ops left. The retired count of the whole block is added, as by
    /// <see cref="Execute"/>: the instructions before <paramref name="firstOp"/> retire with it.
    /// </summary>
    internal BlockResult ResumeAt(IrBlock block, VcpuState state, int firstOp)
    {
        // Few live values across the loop, so the JIT keeps them in registers: the temps, the
        // current op and the end. Rare paths live in their own methods, and no struct local holds
        // a reference (the JIT zeroes such locals on every entry).
        ref ulong t = ref MemoryMarshal.GetArrayDataReference(_temps);
        var ops = block.Ops;
        ref IrOp op = ref Unsafe.Add(ref MemoryMarshal.GetReference(ops), firstOp);
        ref IrOp end = ref Unsafe.Add(ref op, ops.Length);
        for (; Unsafe.IsAddressLessThan(ref op, ref end); op = ref Unsafe.Add(ref op, 1))
        {
            switch (op.Code)
            {
                case IrOpcode.Nop:
                    break;
                case IrOpcode.Const:
                    Unsafe.Add(ref t, op.Dst) = op.Imm;
                    break;
                case IrOpcode.GetReg:
                    Unsafe.Add(ref t, op.Dst) = state.Slots[op.Aux];
                    break;
                case IrOpcode.PutReg:
                    state.Slots[op.Aux] = Unsafe.Add(ref t, op.A);
                    break;
                case IrOpcode.Load:
                    if (!_memory.Read(Unsafe.Add(ref t, op.A), AccessBytes(op.Type), out Unsafe.Add(ref t, op.Dst), out _accessFault))
                        return Fault(block, state, op.Guest, in _accessFault);
                    break;
                case IrOpcode.Store:
                    if (!_memory.Write(Unsafe.Add(ref t, op.A), AccessBytes(op.Type), Unsafe.Add(ref t, op.B), out _accessFault))
                        return Fault(block, state, op.Guest, in _accessFault);
                    break;
                case IrOpcode.Add:
                    Unsafe.Add(ref t, op.Dst) = (Unsafe.Add(ref t, op.A) + Unsafe.Add(ref t, op.B)) & IrTypes.Mask(op.Type);
                    break;
                case IrOpcode.Sub:
                    Unsafe.Add(ref t, op.Dst) = (Unsafe.Add(ref t, op.A) - Unsafe.Add(ref t, op.B)) & IrTypes.Mask(op.Type);
                    break;
                case IrOpcode.Mul:
                    Unsafe.Add(ref t, op.Dst) = (Unsafe.Add(ref t, op.A) * Unsafe.Add(ref t, op.B)) & IrTypes.Mask(op.Type);
                    break;
                case IrOpcode.MulHiU:
                    Unsafe.Add(ref t, op.Dst) = IrEvaluator.MulHighUnsigned(op.Type, Unsafe.Add(ref t, op.A), Unsafe.Add(ref t, op.B));
                    break;
                case IrOpcode.MulHiS:
                    Unsafe.Add(ref t, op.Dst) = IrEvaluator.MulHighSigned(op.Type, Unsafe.Add(ref t, op.A), Unsafe.Add(ref t, op.B));
                    break;
                case IrOpcode.And:
                    Unsafe.Add(ref t, op.Dst) = Unsafe.Add(ref t, op.A) & Unsafe.Add(ref t, op.B);
                    break;
                case IrOpcode.Or:
                    Unsafe.Add(ref t, op.Dst) = Unsafe.Add(ref t, op.A) | Unsafe.Add(ref t, op.B);
                    break;
                case IrOpcode.Xor:
                    Unsafe.Add(ref t, op.Dst) = Unsafe.Add(ref t, op.A) ^ Unsafe.Add(ref t, op.B);
                    break;
                case IrOpcode.Shl:
                    // Widths are powers of two (or 1), so "modulo the width" is a mask.
                    Unsafe.Add(ref t, op.Dst) = (Unsafe.Add(ref t, op.A) << (int)(Unsafe.Add(ref t, op.B) & (uint)(IrTypes.Bits(op.Type) - 1))) & IrTypes.Mask(op.Type);
                    break;
                case IrOpcode.Shr:
                    Unsafe.Add(ref t, op.Dst) = Unsafe.Add(ref t, op.A) >> (int)(Unsafe.Add(ref t, op.B) & (uint)(IrTypes.Bits(op.Type) - 1));
                    break;
                case IrOpcode.Sar:
                {
                    int bits = IrTypes.Bits(op.Type);
                    Unsafe.Add(ref t, op.Dst) = (ulong)(IrEvaluator.SignExtend(Unsafe.Add(ref t, op.A), bits) >> (int)(Unsafe.Add(ref t, op.B) & (uint)(bits - 1))) & IrTypes.Mask(op.Type);
                    break;
                }
                case IrOpcode.Rol:
                case IrOpcode.Ror:
                case IrOpcode.Popcnt:
                case IrOpcode.Ctz:
                case IrOpcode.Clz:
                case IrOpcode.Bswap:
                case IrOpcode.SExt:
                    IrEvaluator.TryEvaluate(op.Code, op.Type, block.TypeOf(op.A), Unsafe.Add(ref t, op.A), Unsafe.Add(ref t, op.B), 0, out Unsafe.Add(ref t, op.Dst));
                    break;
                case IrOpcode.DivU:
                case IrOpcode.RemU:
                case IrOpcode.DivS:
                case IrOpcode.RemS:
                    if (!IrEvaluator.TryDivide(op.Code, op.Type, Unsafe.Add(ref t, op.A), Unsafe.Add(ref t, op.B), Unsafe.Add(ref t, op.C), out Unsafe.Add(ref t, op.Dst)))
                        return DivideError(block, state, op.Guest);
                    break;
                case IrOpcode.Not:
                    Unsafe.Add(ref t, op.Dst) = ~Unsafe.Add(ref t, op.A) & IrTypes.Mask(op.Type);
                    break;
                case IrOpcode.Neg:
                    Unsafe.Add(ref t, op.Dst) = (0 - Unsafe.Add(ref t, op.A)) & IrTypes.Mask(op.Type);
                    break;
                case IrOpcode.CmpEq:
                    Unsafe.Add(ref t, op.Dst) = Unsafe.Add(ref t, op.A) == Unsafe.Add(ref t, op.B) ? 1UL : 0UL;
                    break;
                case IrOpcode.CmpNe:
                    Unsafe.Add(ref t, op.Dst) = Unsafe.Add(ref t, op.A) != Unsafe.Add(ref t, op.B) ? 1UL : 0UL;
                    break;
                case IrOpcode.CmpLtU:
                    Unsafe.Add(ref t, op.Dst) = Unsafe.Add(ref t, op.A) < Unsafe.Add(ref t, op.B) ? 1UL : 0UL;
                    break;
                case IrOpcode.CmpLeU:
                    Unsafe.Add(ref t, op.Dst) = Unsafe.Add(ref t, op.A) <= Unsafe.Add(ref t, op.B) ? 1UL : 0UL;
                    break;
                case IrOpcode.CmpLtS:
                {
                    int bits = IrTypes.Bits(block.TypeOf(op.A));
                    Unsafe.Add(ref t, op.Dst) = IrEvaluator.SignExtend(Unsafe.Add(ref t, op.A), bits) < IrEvaluator.SignExtend(Unsafe.Add(ref t, op.B), bits) ? 1UL : 0UL;
                    break;
                }
                case IrOpcode.CmpLeS:
                {
                    int bits = IrTypes.Bits(block.TypeOf(op.A));
                    Unsafe.Add(ref t, op.Dst) = IrEvaluator.SignExtend(Unsafe.Add(ref t, op.A), bits) <= IrEvaluator.SignExtend(Unsafe.Add(ref t, op.B), bits) ? 1UL : 0UL;
                    break;
                }
                case IrOpcode.ZExt:
                    Unsafe.Add(ref t, op.Dst) = Unsafe.Add(ref t, op.A);
                    break;
                case IrOpcode.Trunc:
                    Unsafe.Add(ref t, op.Dst) = Unsafe.Add(ref t, op.A) & IrTypes.Mask(op.Type);
                    break;
                case IrOpcode.Select:
                    Unsafe.Add(ref t, op.Dst) = Unsafe.Add(ref t, op.A) != 0 ? Unsafe.Add(ref t, op.B) : Unsafe.Add(ref t, op.C);
                    break;
                case IrOpcode.CondFromFlags:
                    Unsafe.Add(ref t, op.Dst) = FlagsCalculator.Evaluate((Condition)op.Aux, Unsafe.Add(ref t, op.A), Unsafe.Add(ref t, op.B), Unsafe.Add(ref t, op.C), Unsafe.Add(ref t, op.D)) ? 1UL : 0UL;
                    break;
                case IrOpcode.FlagsFromThunk:
                    Unsafe.Add(ref t, op.Dst) = FlagsCalculator.Compute(Unsafe.Add(ref t, op.A), Unsafe.Add(ref t, op.B), Unsafe.Add(ref t, op.C), Unsafe.Add(ref t, op.D));
                    break;
                case IrOpcode.ExitIf:
                    if (Unsafe.Add(ref t, op.A) != 0)
                    {
                        state.Slots[GuestReg.Rip] = op.Imm;
                        state.InstructionsRetired += (ulong)op.Guest + 1;
                        return new BlockResult(BlockEnd.Exit, op.Guest + 1);
                    }
                    break;
                case IrOpcode.Exit:
                    state.Slots[GuestReg.Rip] = op.Imm;
                    state.InstructionsRetired += (ulong)op.Guest + 1;
                    return new BlockResult(BlockEnd.Exit, op.Guest + 1);
                case IrOpcode.ExitIndirect:
                    state.Slots[GuestReg.Rip] = Unsafe.Add(ref t, op.A);
                    state.InstructionsRetired += (ulong)op.Guest + 1;
                    return new BlockResult(BlockEnd.ExitIndirect, op.Guest + 1);
                case IrOpcode.Raise:
                    return Raise(block, state, in op);
                case IrOpcode.RaiseIf:
                    if (Unsafe.Add(ref t, op.A) != 0) return Raise(block, state, in op);
                    break;
                case IrOpcode.SoftInt:
                    return SoftInt(state, in op);
                case IrOpcode.System:
                    if (ExecuteSystem(block, state, in op, ref t)) break;
                    return _systemResult;
                case IrOpcode.CleanCall:
                    CallTool(in op, ref t);
                    break;
                case IrOpcode.Meta:
                    RunMeta(state, in op, ref t);
                    break;
                case IrOpcode.CounterAdd:
                    Counters.SlotOfAllocated((int)op.Imm) += (long)Unsafe.Add(ref t, op.A);
                    break;
                default:
                    return Invalid(block, op.Code);
            }
        }
        return Invalid(block, IrOpcode.Nop);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private BlockResult Raise(IrBlock block, VcpuState state, in IrOp op)
    {
        var fault = new GuestFault
        {
            Vector = (ExceptionVector)op.Aux,
            HasErrorCode = (op.Imm >> 32) != 0,
            ErrorCode = (uint)op.Imm,
        };
        return Fault(block, state, op.Guest, in fault);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static BlockResult SoftInt(VcpuState state, in IrOp op)
    {
        state.Rip = op.Imm;
        state.InstructionsRetired += (ulong)op.Guest + 1;
        return new BlockResult(BlockEnd.SoftInt, op.Guest + 1, new GuestFault { Vector = (ExceptionVector)op.Aux, Rip = op.Imm });
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private BlockResult DivideError(IrBlock block, VcpuState state, int guest) =>
        Fault(block, state, guest, GuestFault.DivideError());

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void CallTool(in IrOp op, ref ulong t) =>
        CleanCalls.Invoke(op.Imm, Arg(ref t, op.A), Arg(ref t, op.B), Arg(ref t, op.C), Arg(ref t, op.D));

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RunMeta(VcpuState state, in IrOp op, ref ulong t)
    {
        var handler = _metaHandlers[op.Aux];
        ulong value = handler?.Execute(in op, Arg(ref t, op.A), Arg(ref t, op.B), Arg(ref t, op.C), Arg(ref t, op.D), state) ?? 0;
        // Keep the IR's invariant even for a careless handler: values are zero-extended to their type.
        if (op.Dst != IrOp.None) Unsafe.Add(ref t, op.Dst) = value & IrTypes.Mask(op.Type);
    }

    /// <summary>An op this tier does not know (<paramref name="code"/>), or a block without a terminator (Nop): a bug in whoever built the block.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static BlockResult Invalid(IrBlock block, IrOpcode code) => throw new InvalidOperationException(
        code != IrOpcode.Nop
            ? $"IR op {code} cannot be interpreted (block {block.StartRip:x})"
            : $"block {block.StartRip:x} ran off its end: it has no terminator");

    /// <summary>
    /// Runs a System op; true when the block goes on, false when it ends here with
    /// <see cref="_systemResult"/> (a field, so the caller's frame holds no such struct).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool ExecuteSystem(IrBlock block, VcpuState state, in IrOp op, ref ulong t)
    {
        ref BlockResult result = ref _systemResult;
        if (_system is null)
        {
            result = Fault(block, state, op.Guest, GuestFault.InvalidOpcode());
            return false;
        }
        var insn = block.Instructions[op.Guest];
        // The hypervisor sees precise state: RIP is the system instruction's own, and the clock
        // (RDTSC, the APIC timer) counts the instructions of this block that retired before it.
        state.Rip = insn.Rip;
        state.InstructionsRetired += op.Guest;
        var outcome = _system.Execute((SystemOp)op.Aux, state, _memory, Arg(ref t, op.A), Arg(ref t, op.B), out ulong value, out var fault);
        state.InstructionsRetired -= op.Guest;
        switch (outcome)
        {
            case SystemOutcome.Continue:
                if (op.Dst != IrOp.None) Unsafe.Add(ref t, op.Dst) = value;
                return true;
            case SystemOutcome.Jump:
                state.InstructionsRetired += (ulong)op.Guest + 1;
                result = new BlockResult(BlockEnd.SystemJump, op.Guest + 1);
                return false;
            case SystemOutcome.Fault:
                result = Fault(block, state, op.Guest, in fault);
                return false;
            case SystemOutcome.Halt:
                state.Rip = insn.NextRip;
                state.InstructionsRetired += (ulong)op.Guest + 1;
                result = new BlockResult(BlockEnd.Halt, op.Guest + 1);
                return false;
            case SystemOutcome.Stop:
                state.Rip = insn.NextRip;
                state.InstructionsRetired += (ulong)op.Guest + 1;
                result = new BlockResult(BlockEnd.Stop, op.Guest + 1);
                return false;
            default:
                throw new InvalidOperationException($"system instruction {(SystemOp)op.Aux} returned {outcome}");
        }
    }

    /// <summary>Ends the block with a fault in guest instruction <paramref name="guest"/>: RIP = its RIP, #UD with its bytes.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private BlockResult Fault(IrBlock block, VcpuState state, int guest, in GuestFault reported)
    {
        var fault = reported;
        var insn = block.Instructions[guest];
        fault.Rip = insn.Rip;
        state.Rip = insn.Rip;
        state.InstructionsRetired += (ulong)guest;
        if (fault.Vector == ExceptionVector.InvalidOpcode && fault.Bytes is null)
            fault.Bytes = FetchBytes(insn);
        return new BlockResult(BlockEnd.Fault, guest, fault);
    }

    /// <summary>The instruction's bytes as fetched now, for the #UD report (fewer when the fetch stops short).</summary>
    private byte[] FetchBytes(in GuestInstruction insn)
    {
        Span<byte> buffer = stackalloc byte[15];
        int length = Math.Clamp(insn.Length, 1, 15);
        int got = _memory.Fetch(insn.Rip, buffer[..length], out _);
        return buffer[..got].ToArray();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int AccessBytes(IrType type) => 1 << ((int)type - 1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Arg(ref ulong t, ushort id) => id == IrOp.None ? 0 : Unsafe.Add(ref t, id);
}
