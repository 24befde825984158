using Drk.Dispatcher.Flags;
using Drk.Hv.Cpu;

namespace Drk.Dispatcher.IR;

/// <summary>
/// Appends typed ops to an <see cref="IrBlock"/> and returns their results as
/// <see cref="IrValue"/>s. Every op is tagged with <see cref="Guest"/>, the index of the guest
/// instruction being lowered, and with <see cref="Meta"/> when a tool is inserting it.
/// </summary>
/// <remarks>
/// The builder checks operand types as it goes (an <see cref="ArgumentException"/> is a bug in
/// the lowering or a tool, never a guest-caused condition). Constants are materialised as
/// <see cref="IrOpcode.Const"/> ops; the optimiser folds them.
/// </remarks>
public sealed class IrBuilder
{
    public IrBuilder(IrBlock block) => Block = block;

    public IrBlock Block { get; }

    /// <summary>Index of the guest instruction the next ops belong to.</summary>
    public int Guest { get; set; }

    /// <summary>True while a tool inserts ops; they are marked <see cref="IrOp.IsMeta"/>.</summary>
    public bool Meta { get; set; }

    private IrValue Emit(IrOpcode code, IrType type, IrValue? a = null, IrValue? b = null, IrValue? c = null,
        IrValue? d = null, byte aux = 0, ulong imm = 0, bool hasResult = true)
    {
        var dst = hasResult ? Block.NewTemp(type) : IrValue.None;
        Block.Append(new IrOp
        {
            Code = code,
            Type = type,
            Aux = aux,
            IsMeta = Meta,
            Guest = (ushort)Guest,
            Dst = dst.Id,
            A = Id(a),
            B = Id(b),
            C = Id(c),
            D = Id(d),
            Imm = imm,
        });
        return dst;
    }

    private static ushort Id(IrValue? v) => v?.Id ?? IrOp.None;

    private static void Require(IrValue v, IrType t, string what)
    {
        if (v.Type != t) throw new ArgumentException($"{what}: expected {IrTypes.Name(t)}, got {IrTypes.Name(v.Type)} ({v})");
    }

    private static void Same(IrValue a, IrValue b, string what)
    {
        if (a.Type != b.Type) throw new ArgumentException($"{what}: operand types differ ({IrTypes.Name(a.Type)} vs {IrTypes.Name(b.Type)})");
    }

    // ---- values and state ---------------------------------------------------------------

    public IrValue Const(IrType type, ulong value) => Emit(IrOpcode.Const, type, imm: value & IrTypes.Mask(type));

    public IrValue Const64(ulong value) => Const(IrType.I64, value);

    /// <summary>Reads guest slot <paramref name="slot"/> (<see cref="GuestReg"/>) as I64.</summary>
    public IrValue GetReg(int slot) => Emit(IrOpcode.GetReg, IrType.I64, aux: checked((byte)slot));

    /// <summary>Writes guest slot <paramref name="slot"/>.</summary>
    public void PutReg(int slot, IrValue value)
    {
        Require(value, IrType.I64, "PutReg");
        Emit(IrOpcode.PutReg, IrType.I64, value, aux: checked((byte)slot), hasResult: false);
    }

    // ---- memory -----------------------------------------------------------------------------

    public IrValue Load(IrType type, IrValue address)
    {
        Require(address, IrType.I64, "Load address");
        if (type == IrType.I1) throw new ArgumentException("Load: I1 is not a memory type");
        return Emit(IrOpcode.Load, type, address);
    }

    public void Store(IrValue address, IrValue value)
    {
        Require(address, IrType.I64, "Store address");
        if (value.Type == IrType.I1) throw new ArgumentException("Store: I1 is not a memory type");
        Emit(IrOpcode.Store, value.Type, address, value, hasResult: false);
    }

    // ---- arithmetic -------------------------------------------------------------------------

    /// <summary>A binary op whose operands and result share one type (Add ... Xor, MulHi).</summary>
    public IrValue Binary(IrOpcode code, IrValue a, IrValue b)
    {
        if (code is < IrOpcode.Add or > IrOpcode.Xor) throw new ArgumentException($"{code} is not a same-type binary op");
        Same(a, b, code.ToString());
        return Emit(code, a.Type, a, b);
    }

    public IrValue Add(IrValue a, IrValue b) => Binary(IrOpcode.Add, a, b);
    public IrValue Sub(IrValue a, IrValue b) => Binary(IrOpcode.Sub, a, b);
    public IrValue And(IrValue a, IrValue b) => Binary(IrOpcode.And, a, b);
    public IrValue Or(IrValue a, IrValue b) => Binary(IrOpcode.Or, a, b);
    public IrValue Xor(IrValue a, IrValue b) => Binary(IrOpcode.Xor, a, b);
    public IrValue Mul(IrValue a, IrValue b) => Binary(IrOpcode.Mul, a, b);

    /// <summary>A shift or rotate of <paramref name="value"/> by an I8 <paramref name="count"/> (taken modulo the width).</summary>
    public IrValue Shift(IrOpcode code, IrValue value, IrValue count)
    {
        if (code is < IrOpcode.Shl or > IrOpcode.Ror) throw new ArgumentException($"{code} is not a shift");
        Require(count, IrType.I8, $"{code} count");
        return Emit(code, value.Type, value, count);
    }

    /// <summary>Division of the double-width dividend <paramref name="high"/>:<paramref name="low"/>; may raise #DE.</summary>
    public IrValue Divide(IrOpcode code, IrValue high, IrValue low, IrValue divisor)
    {
        if (code is < IrOpcode.DivU or > IrOpcode.RemS) throw new ArgumentException($"{code} is not a division");
        Same(high, low, code.ToString());
        Same(low, divisor, code.ToString());
        return Emit(code, low.Type, high, low, divisor);
    }

    public IrValue Unary(IrOpcode code, IrValue a)
    {
        if (code is < IrOpcode.Not or > IrOpcode.Bswap) throw new ArgumentException($"{code} is not a unary op");
        return Emit(code, a.Type, a);
    }

    /// <summary>A comparison giving I1.</summary>
    public IrValue Compare(IrOpcode code, IrValue a, IrValue b)
    {
        if (code is < IrOpcode.CmpEq or > IrOpcode.CmpLeS) throw new ArgumentException($"{code} is not a comparison");
        Same(a, b, code.ToString());
        return Emit(code, IrType.I1, a, b);
    }

    public IrValue ZExt(IrType to, IrValue a)
    {
        if (a.Type > to) throw new ArgumentException($"ZExt: {IrTypes.Name(a.Type)} is wider than {IrTypes.Name(to)}");
        return a.Type == to ? a : Emit(IrOpcode.ZExt, to, a);
    }

    public IrValue SExt(IrType to, IrValue a)
    {
        if (a.Type > to) throw new ArgumentException($"SExt: {IrTypes.Name(a.Type)} is wider than {IrTypes.Name(to)}");
        return a.Type == to ? a : Emit(IrOpcode.SExt, to, a);
    }

    public IrValue Trunc(IrType to, IrValue a)
    {
        if (a.Type < to) throw new ArgumentException($"Trunc: {IrTypes.Name(a.Type)} is narrower than {IrTypes.Name(to)}");
        return a.Type == to ? a : Emit(IrOpcode.Trunc, to, a);
    }

    public IrValue Select(IrValue cond, IrValue ifTrue, IrValue ifFalse)
    {
        Require(cond, IrType.I1, "Select condition");
        Same(ifTrue, ifFalse, "Select");
        return Emit(IrOpcode.Select, ifTrue.Type, cond, ifTrue, ifFalse);
    }

    // ---- flags ---------------------------------------------------------------------------------

    /// <summary>Evaluates <paramref name="cond"/> on a flag thunk (all four I64).</summary>
    public IrValue CondFromFlags(Condition cond, IrValue ccOp, IrValue dep1, IrValue dep2, IrValue ndep) =>
        Emit(IrOpcode.CondFromFlags, IrType.I1, ccOp, dep1, dep2, ndep, aux: (byte)cond);

    /// <summary>The six arithmetic flags of a thunk, as RFLAGS bits.</summary>
    public IrValue FlagsFromThunk(IrValue ccOp, IrValue dep1, IrValue dep2, IrValue ndep) =>
        Emit(IrOpcode.FlagsFromThunk, IrType.I64, ccOp, dep1, dep2, ndep);

    // ---- exits -----------------------------------------------------------------------------

    public void ExitIf(IrValue cond, ulong target)
    {
        Require(cond, IrType.I1, "ExitIf condition");
        Emit(IrOpcode.ExitIf, IrType.I64, cond, imm: target, hasResult: false);
    }

    public void Exit(ulong target) => Emit(IrOpcode.Exit, IrType.I64, imm: target, hasResult: false);

    public void ExitIndirect(IrValue target, IndirectKind kind)
    {
        Require(target, IrType.I64, "ExitIndirect target");
        Emit(IrOpcode.ExitIndirect, IrType.I64, target, aux: (byte)kind, hasResult: false);
    }

    /// <summary>Raises <paramref name="vector"/> at the current guest instruction.</summary>
    public void Raise(ExceptionVector vector, uint? errorCode = null) =>
        Emit(IrOpcode.Raise, IrType.I64, aux: (byte)vector,
            imm: errorCode is { } e ? (1UL << 32) | e : 0, hasResult: false);

    /// <summary>Raises <paramref name="vector"/> at the current guest instruction when <paramref name="cond"/> holds; a no-op otherwise.</summary>
    public void RaiseIf(IrValue cond, ExceptionVector vector, uint? errorCode = null)
    {
        Require(cond, IrType.I1, "RaiseIf condition");
        Emit(IrOpcode.RaiseIf, IrType.I64, cond, aux: (byte)vector,
            imm: errorCode is { } e ? (1UL << 32) | e : 0, hasResult: false);
    }

    /// <summary>INT n: a software interrupt delivered with return address <paramref name="nextRip"/>.</summary>
    public void SoftInt(byte vector, ulong nextRip) =>
        Emit(IrOpcode.SoftInt, IrType.I64, aux: vector, imm: nextRip, hasResult: false);

    // ---- system -----------------------------------------------------------------------------

    /// <summary>A system instruction executed by the hypervisor; returns its I64 result.</summary>
    public IrValue System(SystemOp op, IrValue a, IrValue b) =>
        Emit(IrOpcode.System, IrType.I64, a, b, aux: (byte)op);

    // ---- meta ---------------------------------------------------------------------------------

    /// <summary>A clean call to tool callback <paramref name="callback"/> with up to four I64 arguments.</summary>
    public void CleanCall(ulong callback, IrValue a, IrValue b, IrValue c, IrValue d) =>
        Emit(IrOpcode.CleanCall, IrType.I64, a, b, c, d, imm: callback, hasResult: false);

    /// <summary>Adds <paramref name="amount"/> (I64) to tool counter <paramref name="counter"/>, inline.</summary>
    public void CounterAdd(int counter, IrValue amount)
    {
        Require(amount, IrType.I64, "CounterAdd");
        ArgumentOutOfRangeException.ThrowIfNegative(counter);
        Emit(IrOpcode.CounterAdd, IrType.I64, amount, imm: (ulong)counter, hasResult: false);
    }
}
