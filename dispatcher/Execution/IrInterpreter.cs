using System.Runtime.CompilerServices;
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
    private ulong[] _temps = new ulong[256];

    public IrInterpreter(IGuestMemory memory, ISystemInstructions? system = null, CleanCallTable? cleanCalls = null)
    {
        _memory = memory;
        _system = system;
        CleanCalls = cleanCalls ?? new CleanCallTable();
    }

    /// <summary>The callbacks CleanCall ops invoke.</summary>
    public CleanCallTable CleanCalls { get; }

    /// <summary>Executes Meta ops whose Aux is <paramref name="kind"/> with <paramref name="handler"/>; Meta ops without a handler do nothing and yield 0.</summary>
    public void RegisterMetaHandler(byte kind, IMetaOpHandler handler) => _metaHandlers[kind] = handler;

    /// <summary>
    /// Executes <paramref name="block"/> from its first op until it leaves, says why, and adds the
    /// instructions it retired to <see cref="VcpuState.InstructionsRetired"/> (the virtual clock).
    /// </summary>
    public BlockResult Execute(IrBlock block, VcpuState state)
    {
        var result = Run(block, state);
        state.InstructionsRetired += (ulong)result.Retired;
        return result;
    }

    private BlockResult Run(IrBlock block, VcpuState state)
    {
        if (_temps.Length < block.TempCount) _temps = new ulong[Math.Max(block.TempCount, _temps.Length * 2)];
        ulong[] t = _temps;
        ulong[] slots = state.Slots;
        ReadOnlySpan<IrOp> ops = block.Ops;
        ReadOnlySpan<ulong> masks = IrEvaluator.Masks;
        ReadOnlySpan<byte> widths = IrEvaluator.Widths;
        for (int i = 0; i < ops.Length; i++)
        {
            ref readonly IrOp op = ref ops[i];
            switch (op.Code)
            {
                case IrOpcode.Nop:
                    break;
                case IrOpcode.Const:
                    t[op.Dst] = op.Imm;
                    break;
                case IrOpcode.GetReg:
                    t[op.Dst] = slots[op.Aux];
                    break;
                case IrOpcode.PutReg:
                    slots[op.Aux] = t[op.A];
                    break;
                case IrOpcode.Load:
                {
                    if (!_memory.Read(t[op.A], AccessBytes(op.Type), out ulong value, out var fault))
                        return Fault(block, state, op.Guest, fault);
                    t[op.Dst] = value;
                    break;
                }
                case IrOpcode.Store:
                {
                    if (!_memory.Write(t[op.A], AccessBytes(op.Type), t[op.B], out var fault))
                        return Fault(block, state, op.Guest, fault);
                    break;
                }
                case IrOpcode.Add:
                    t[op.Dst] = (t[op.A] + t[op.B]) & masks[(int)op.Type];
                    break;
                case IrOpcode.Sub:
                    t[op.Dst] = (t[op.A] - t[op.B]) & masks[(int)op.Type];
                    break;
                case IrOpcode.Mul:
                    t[op.Dst] = (t[op.A] * t[op.B]) & masks[(int)op.Type];
                    break;
                case IrOpcode.MulHiU:
                    t[op.Dst] = IrEvaluator.MulHighUnsigned(op.Type, t[op.A], t[op.B]);
                    break;
                case IrOpcode.MulHiS:
                    t[op.Dst] = IrEvaluator.MulHighSigned(op.Type, t[op.A], t[op.B]);
                    break;
                case IrOpcode.And:
                    t[op.Dst] = t[op.A] & t[op.B];
                    break;
                case IrOpcode.Or:
                    t[op.Dst] = t[op.A] | t[op.B];
                    break;
                case IrOpcode.Xor:
                    t[op.Dst] = t[op.A] ^ t[op.B];
                    break;
                case IrOpcode.Shl:
                    // Widths are powers of two (or 1), so "modulo the width" is a mask.
                    t[op.Dst] = (t[op.A] << (int)(t[op.B] & (uint)(widths[(int)op.Type] - 1))) & masks[(int)op.Type];
                    break;
                case IrOpcode.Shr:
                    t[op.Dst] = t[op.A] >> (int)(t[op.B] & (uint)(widths[(int)op.Type] - 1));
                    break;
                case IrOpcode.Sar:
                {
                    int bits = widths[(int)op.Type];
                    t[op.Dst] = (ulong)(IrEvaluator.SignExtend(t[op.A], bits) >> (int)(t[op.B] & (uint)(bits - 1))) & masks[(int)op.Type];
                    break;
                }
                case IrOpcode.Rol:
                case IrOpcode.Ror:
                case IrOpcode.Popcnt:
                case IrOpcode.Ctz:
                case IrOpcode.Clz:
                case IrOpcode.Bswap:
                case IrOpcode.SExt:
                    IrEvaluator.TryEvaluate(op.Code, op.Type, block.TypeOf(op.A), t[op.A], op.B == IrOp.None ? 0 : t[op.B], 0, out t[op.Dst]);
                    break;
                case IrOpcode.DivU:
                case IrOpcode.RemU:
                case IrOpcode.DivS:
                case IrOpcode.RemS:
                    if (!IrEvaluator.TryDivide(op.Code, op.Type, t[op.A], t[op.B], t[op.C], out t[op.Dst]))
                        return Fault(block, state, op.Guest, GuestFault.DivideError());
                    break;
                case IrOpcode.Not:
                    t[op.Dst] = ~t[op.A] & masks[(int)op.Type];
                    break;
                case IrOpcode.Neg:
                    t[op.Dst] = (0 - t[op.A]) & masks[(int)op.Type];
                    break;
                case IrOpcode.CmpEq:
                    t[op.Dst] = t[op.A] == t[op.B] ? 1UL : 0UL;
                    break;
                case IrOpcode.CmpNe:
                    t[op.Dst] = t[op.A] != t[op.B] ? 1UL : 0UL;
                    break;
                case IrOpcode.CmpLtU:
                    t[op.Dst] = t[op.A] < t[op.B] ? 1UL : 0UL;
                    break;
                case IrOpcode.CmpLeU:
                    t[op.Dst] = t[op.A] <= t[op.B] ? 1UL : 0UL;
                    break;
                case IrOpcode.CmpLtS:
                {
                    int bits = widths[(int)block.TypeOf(op.A)];
                    t[op.Dst] = IrEvaluator.SignExtend(t[op.A], bits) < IrEvaluator.SignExtend(t[op.B], bits) ? 1UL : 0UL;
                    break;
                }
                case IrOpcode.CmpLeS:
                {
                    int bits = widths[(int)block.TypeOf(op.A)];
                    t[op.Dst] = IrEvaluator.SignExtend(t[op.A], bits) <= IrEvaluator.SignExtend(t[op.B], bits) ? 1UL : 0UL;
                    break;
                }
                case IrOpcode.ZExt:
                    t[op.Dst] = t[op.A];
                    break;
                case IrOpcode.Trunc:
                    t[op.Dst] = t[op.A] & masks[(int)op.Type];
                    break;
                case IrOpcode.Select:
                    t[op.Dst] = t[op.A] != 0 ? t[op.B] : t[op.C];
                    break;
                case IrOpcode.CondFromFlags:
                    t[op.Dst] = FlagsCalculator.Evaluate((Condition)op.Aux, t[op.A], t[op.B], t[op.C], t[op.D]) ? 1UL : 0UL;
                    break;
                case IrOpcode.FlagsFromThunk:
                    t[op.Dst] = FlagsCalculator.Compute(t[op.A], t[op.B], t[op.C], t[op.D]);
                    break;
                case IrOpcode.ExitIf:
                    if (t[op.A] != 0)
                    {
                        slots[GuestReg.Rip] = op.Imm;
                        return new BlockResult(BlockEnd.Exit, op.Guest + 1);
                    }
                    break;
                case IrOpcode.Exit:
                    slots[GuestReg.Rip] = op.Imm;
                    return new BlockResult(BlockEnd.Exit, op.Guest + 1);
                case IrOpcode.ExitIndirect:
                    slots[GuestReg.Rip] = t[op.A];
                    return new BlockResult(BlockEnd.ExitIndirect, op.Guest + 1);
                case IrOpcode.Raise:
                    return Fault(block, state, op.Guest, new GuestFault
                    {
                        Vector = (ExceptionVector)op.Aux,
                        HasErrorCode = (op.Imm >> 32) != 0,
                        ErrorCode = (uint)op.Imm,
                    });
                case IrOpcode.SoftInt:
                    slots[GuestReg.Rip] = op.Imm;
                    return new BlockResult(BlockEnd.SoftInt, op.Guest + 1,
                        new GuestFault { Vector = (ExceptionVector)op.Aux, Rip = op.Imm });
                case IrOpcode.System:
                {
                    if (ExecuteSystem(block, state, in op, t, out var result)) break;
                    return result;
                }
                case IrOpcode.CleanCall:
                    CleanCalls.Invoke(op.Imm, Arg(t, op.A), Arg(t, op.B), Arg(t, op.C), Arg(t, op.D));
                    break;
                case IrOpcode.Meta:
                {
                    var handler = _metaHandlers[op.Aux];
                    ulong value = handler?.Execute(in op, Arg(t, op.A), Arg(t, op.B), Arg(t, op.C), Arg(t, op.D), state) ?? 0;
                    if (op.Dst != IrOp.None) t[op.Dst] = value;
                    break;
                }
                default:
                    throw new InvalidOperationException($"IR op {op.Code} cannot be interpreted (op {i} of block {block.StartRip:x})");
            }
        }
        throw new InvalidOperationException($"block {block.StartRip:x} ran off its end: it has no terminator");
    }

    /// <summary>Runs a System op; true when the block goes on, false with the block's result when it ends here.</summary>
    private bool ExecuteSystem(IrBlock block, VcpuState state, in IrOp op, ulong[] t, out BlockResult result)
    {
        result = default;
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
        var outcome = _system.Execute((SystemOp)op.Aux, state, _memory, Arg(t, op.A), Arg(t, op.B), out ulong value, out var fault);
        state.InstructionsRetired -= op.Guest;
        switch (outcome)
        {
            case SystemOutcome.Continue:
                if (op.Dst != IrOp.None) t[op.Dst] = value;
                return true;
            case SystemOutcome.Jump:
                result = new BlockResult(BlockEnd.SystemJump, op.Guest + 1);
                return false;
            case SystemOutcome.Fault:
                result = Fault(block, state, op.Guest, fault);
                return false;
            case SystemOutcome.Halt:
                state.Rip = insn.NextRip;
                result = new BlockResult(BlockEnd.Halt, op.Guest + 1);
                return false;
            case SystemOutcome.Stop:
                state.Rip = insn.NextRip;
                result = new BlockResult(BlockEnd.Stop, op.Guest + 1);
                return false;
            default:
                throw new InvalidOperationException($"system instruction {(SystemOp)op.Aux} returned {outcome}");
        }
    }

    /// <summary>Ends the block with a fault in guest instruction <paramref name="guest"/>: RIP = its RIP, #UD with its bytes.</summary>
    private BlockResult Fault(IrBlock block, VcpuState state, int guest, GuestFault fault)
    {
        var insn = block.Instructions[guest];
        fault.Rip = insn.Rip;
        state.Rip = insn.Rip;
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
    private static ulong Arg(ulong[] t, ushort id) => id == IrOp.None ? 0 : t[id];
}
