using Drk.Dispatcher.Flags;
using Drk.Hv.Cpu;

namespace Drk.Dispatcher.IR;

/// <summary>
/// Checks that a block obeys the IR contract: SSA (each temp written once, before any use),
/// operand and result types per opcode, guest slots in range, exactly one terminator and it is
/// last, guest-instruction indexes in range and non-decreasing (meta ops excepted), and meta ops
/// (what tools insert) free of anything the guest could see.
/// </summary>
/// <remarks>
/// Runs after the lowering and after every pass in tests and in <c>GuestRunner</c>; a failure is
/// a bug in the lowering, a pass or a tool, never something the guest caused. Linear in the
/// block's size; allocates its error list.
/// </remarks>
public static class IrVerifier
{
    /// <summary>Returns every violation found, each a readable sentence naming the op; empty when the block is well formed.</summary>
    public static List<string> Verify(IrBlock block)
    {
        var errors = new List<string>();
        var defined = new bool[block.TempCount];
        var ops = block.Ops;
        int lastGuest = 0;
        int terminators = 0;
        int lastReal = -1;
        for (int i = 0; i < ops.Length; i++)
        {
            ref readonly var op = ref ops[i];
            if (op.Code == IrOpcode.Nop) continue;
            lastReal = i;
            var cx = new OpChecker(block, errors, defined, i, op);
            cx.Check();

            if (op.Guest >= block.Instructions.Length)
                cx.Error($"guest index {op.Guest} is outside the block's {block.Instructions.Length} instructions");
            else if (!op.IsMeta)
            {
                if (op.Guest < lastGuest) cx.Error($"guest index {op.Guest} after {lastGuest}: guest order must not go backwards");
                lastGuest = op.Guest;
            }

            if (op.IsMeta && IsGuestVisible(op.Code))
                cx.Error("a meta op must not write guest state, access guest memory, fault or leave the block (tools' ops are invisible to the guest)");

            if (IsTerminator(op.Code)) terminators++;
            if (op.Dst != IrOp.None && op.Dst < defined.Length) defined[op.Dst] = true;
        }
        if (lastReal < 0) errors.Add("block has no ops");
        else if (!IsTerminator(ops[lastReal].Code)) errors.Add($"op {lastReal} ({ops[lastReal]}) is last but does not end the block");
        if (terminators > 1) errors.Add($"block has {terminators} terminators; exactly one, the last op, is allowed");
        return errors;
    }

    /// <summary>Throws <see cref="InvalidOperationException"/> listing the violations and the printed block, when there are any.</summary>
    public static void ThrowIfInvalid(IrBlock block, string stage)
    {
        var errors = Verify(block);
        if (errors.Count == 0) return;
        throw new InvalidOperationException(
            $"invalid IR after {stage}:\n  " + string.Join("\n  ", errors) + "\n" + IrPrinter.Format(block));
    }

    private static bool IsTerminator(IrOpcode code) =>
        code is IrOpcode.Exit or IrOpcode.ExitIndirect or IrOpcode.Raise or IrOpcode.SoftInt;

    /// <summary>Ops whose effect the guest could see: state writes, memory accesses (faults, accessed bits, devices), faults and exits.</summary>
    private static bool IsGuestVisible(IrOpcode code) =>
        code is IrOpcode.PutReg or IrOpcode.Load or IrOpcode.Store or IrOpcode.DivU or IrOpcode.DivS or IrOpcode.RemU or IrOpcode.RemS
            or IrOpcode.ExitIf or IrOpcode.Exit or IrOpcode.ExitIndirect or IrOpcode.Raise or IrOpcode.RaiseIf or IrOpcode.SoftInt
            or IrOpcode.System;

    /// <summary>The checks of one op.</summary>
    private readonly ref struct OpChecker(IrBlock block, List<string> errors, bool[] defined, int index, in IrOp op)
    {
        private readonly IrOp _op = op;

        public void Error(string message) => errors.Add($"op {index} ({_op}): {message}");

        public void Check()
        {
            var t = _op.Type;
            if (t > IrType.I64) { Error($"type {t} is not an IR type"); return; }
            switch (_op.Code)
            {
                case IrOpcode.Const:
                    Result(t);
                    NoOperands();
                    if ((_op.Imm & ~IrTypes.Mask(t)) != 0) Error($"constant 0x{_op.Imm:x} does not fit {IrTypes.Name(t)}");
                    break;
                case IrOpcode.GetReg:
                    Result(IrType.I64);
                    Slot();
                    NoOperands();
                    break;
                case IrOpcode.PutReg:
                    NoResult();
                    Slot();
                    if (_op.Aux == GuestReg.Rip) Error("RIP is written only by exits");
                    Operand(_op.A, IrType.I64, "A");
                    Absent(_op.B, "B"); Absent(_op.C, "C"); Absent(_op.D, "D");
                    break;
                case IrOpcode.Load:
                    Result(t);
                    if (t == IrType.I1) Error("I1 is not a memory type");
                    Operand(_op.A, IrType.I64, "address");
                    break;
                case IrOpcode.Store:
                    NoResult();
                    if (t == IrType.I1) Error("I1 is not a memory type");
                    Operand(_op.A, IrType.I64, "address");
                    Operand(_op.B, t, "value");
                    break;
                case >= IrOpcode.Add and <= IrOpcode.Xor:
                    Result(t);
                    Operand(_op.A, t, "A");
                    Operand(_op.B, t, "B");
                    break;
                case >= IrOpcode.Shl and <= IrOpcode.Ror:
                    Result(t);
                    Operand(_op.A, t, "value");
                    Operand(_op.B, IrType.I8, "count");
                    break;
                case >= IrOpcode.DivU and <= IrOpcode.RemS:
                    Result(t);
                    if (t == IrType.I1) Error("division of I1");
                    Operand(_op.A, t, "dividend high");
                    Operand(_op.B, t, "dividend low");
                    Operand(_op.C, t, "divisor");
                    break;
                case >= IrOpcode.Not and <= IrOpcode.Bswap:
                    Result(t);
                    Operand(_op.A, t, "A");
                    break;
                case >= IrOpcode.CmpEq and <= IrOpcode.CmpLeS:
                {
                    Result(IrType.I1);
                    if (Defined(_op.A, "A") && Defined(_op.B, "B") && block.TypeOf(_op.A) != block.TypeOf(_op.B))
                        Error($"compares {IrTypes.Name(block.TypeOf(_op.A))} with {IrTypes.Name(block.TypeOf(_op.B))}");
                    break;
                }
                case IrOpcode.ZExt or IrOpcode.SExt:
                    Result(t);
                    if (Defined(_op.A, "A") && block.TypeOf(_op.A) > t)
                        Error($"extends {IrTypes.Name(block.TypeOf(_op.A))} to the narrower {IrTypes.Name(t)}");
                    break;
                case IrOpcode.Trunc:
                    Result(t);
                    if (Defined(_op.A, "A") && block.TypeOf(_op.A) < t)
                        Error($"truncates {IrTypes.Name(block.TypeOf(_op.A))} to the wider {IrTypes.Name(t)}");
                    break;
                case IrOpcode.Select:
                    Result(t);
                    Operand(_op.A, IrType.I1, "condition");
                    Operand(_op.B, t, "if true");
                    Operand(_op.C, t, "if false");
                    break;
                case IrOpcode.CondFromFlags:
                    Result(IrType.I1);
                    if (_op.Aux > (byte)Condition.G) Error($"condition {_op.Aux} is not an x86 condition");
                    Thunk();
                    break;
                case IrOpcode.FlagsFromThunk:
                    Result(IrType.I64);
                    Thunk();
                    break;
                case IrOpcode.ExitIf:
                    NoResult();
                    Operand(_op.A, IrType.I1, "condition");
                    break;
                case IrOpcode.Exit:
                case IrOpcode.SoftInt:
                    NoResult();
                    NoOperands();
                    break;
                case IrOpcode.ExitIndirect:
                    NoResult();
                    Operand(_op.A, IrType.I64, "target");
                    if (_op.Aux > (byte)IndirectKind.System) Error($"indirect kind {_op.Aux} is not defined");
                    break;
                case IrOpcode.Raise:
                    NoResult();
                    NoOperands();
                    if (!Enum.IsDefined((ExceptionVector)_op.Aux)) Error($"vector {_op.Aux} is not an exception the core raises");
                    break;
                case IrOpcode.RaiseIf:
                    NoResult();
                    Operand(_op.A, IrType.I1, "condition");
                    Absent(_op.B, "B"); Absent(_op.C, "C"); Absent(_op.D, "D");
                    if (!Enum.IsDefined((ExceptionVector)_op.Aux)) Error($"vector {_op.Aux} is not an exception the core raises");
                    break;
                case IrOpcode.System:
                    Result(IrType.I64);
                    if (!Enum.IsDefined((SystemOp)_op.Aux)) Error($"system op {_op.Aux} is not defined");
                    Optional(_op.A, "A"); Optional(_op.B, "B");
                    Absent(_op.C, "C"); Absent(_op.D, "D");
                    break;
                case IrOpcode.CleanCall:
                    NoResult();
                    Optional(_op.A, "A"); Optional(_op.B, "B"); Optional(_op.C, "C"); Optional(_op.D, "D");
                    if (!_op.IsMeta) Error("a clean call must be a meta op");
                    break;
                case IrOpcode.CounterAdd:
                    NoResult();
                    Operand(_op.A, IrType.I64, "A");
                    Absent(_op.B, "B"); Absent(_op.C, "C"); Absent(_op.D, "D");
                    if (!_op.IsMeta) Error("a counter add must be a meta op");
                    break;
                case IrOpcode.Meta:
                    if (_op.Dst != IrOp.None) Result(t);
                    foreach (var id in new[] { _op.A, _op.B, _op.C, _op.D })
                        if (id != IrOp.None) Defined(id, "operand");
                    if (!_op.IsMeta) Error("a Meta op must be marked meta");
                    break;
                default:
                    Error($"opcode {(byte)_op.Code} is not defined");
                    break;
            }
        }

        private void Result(IrType type)
        {
            if (_op.Dst == IrOp.None) { Error("has no result temp"); return; }
            if (_op.Dst >= block.TempCount) { Error($"result t{_op.Dst} is not a temp of the block ({block.TempCount} temps)"); return; }
            if (defined[_op.Dst]) Error($"t{_op.Dst} is written twice (SSA)");
            if (block.TypeOf(_op.Dst) != type) Error($"result t{_op.Dst} is {IrTypes.Name(block.TypeOf(_op.Dst))}, expected {IrTypes.Name(type)}");
            if (_op.Type != type) Error($"op type {IrTypes.Name(_op.Type)} but the result is {IrTypes.Name(type)}");
        }

        private void NoResult()
        {
            if (_op.Dst != IrOp.None) Error($"has a result temp t{_op.Dst} but produces no value");
        }

        private void NoOperands()
        {
            Absent(_op.A, "A"); Absent(_op.B, "B"); Absent(_op.C, "C"); Absent(_op.D, "D");
        }

        private void Absent(ushort id, string what)
        {
            if (id != IrOp.None) Error($"operand {what} (t{id}) must be absent");
        }

        private void Slot()
        {
            if (_op.Aux >= GuestReg.Count) Error($"guest slot {_op.Aux} is out of range (0..{GuestReg.Count - 1})");
        }

        private void Thunk()
        {
            Operand(_op.A, IrType.I64, "cc_op");
            Operand(_op.B, IrType.I64, "cc_dep1");
            Operand(_op.C, IrType.I64, "cc_dep2");
            Operand(_op.D, IrType.I64, "cc_ndep");
        }

        private void Optional(ushort id, string what)
        {
            if (id != IrOp.None) Operand(id, IrType.I64, what);
        }

        /// <summary>True when <paramref name="id"/> is a temp written before this op.</summary>
        private bool Defined(ushort id, string what)
        {
            if (id == IrOp.None) { Error($"operand {what} is missing"); return false; }
            if (id >= block.TempCount) { Error($"operand {what} t{id} is not a temp of the block"); return false; }
            if (!defined[id]) { Error($"operand {what} t{id} is used before it is written"); return false; }
            return true;
        }

        private void Operand(ushort id, IrType type, string what)
        {
            if (!Defined(id, what)) return;
            if (block.TypeOf(id) != type) Error($"operand {what} t{id} is {IrTypes.Name(block.TypeOf(id))}, expected {IrTypes.Name(type)}");
        }
    }
}
