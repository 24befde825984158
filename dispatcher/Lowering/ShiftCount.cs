using Drk.Dispatcher.IR;
using Iced.Intel;

namespace Drk.Dispatcher.Lowering;

/// <summary>
/// The masked count of a shift or rotate (I8): known at lowering time for the immediate forms,
/// read from CL otherwise. A known count lets the lowering drop the "count is 0" selects.
/// </summary>
internal readonly struct ShiftCount
{
    /// <summary>The masked count, I8.</summary>
    public readonly IrValue Value;

    /// <summary>The masked count when it is an immediate, else -1.</summary>
    public readonly int Known;

    private ShiftCount(IrValue value, int known)
    {
        Value = value;
        Known = known;
    }

    public bool IsKnown => Known >= 0;

    /// <summary>Reads count operand <paramref name="n"/> (CL or an immediate) masked to 5 bits, or 6 for 64-bit operations.</summary>
    public static ShiftCount Read(LoweringContext cx, int n, IrType operationType)
    {
        byte mask = operationType == IrType.I64 ? (byte)0x3f : (byte)0x1f;
        if (cx.Insn.GetOpKind(n) == OpKind.Register)
            return new ShiftCount(cx.B.And(cx.ReadGpr(cx.Insn.GetOpRegister(n)), cx.Const8(mask)), -1);
        int known = (int)(cx.Insn.GetImmediate(n) & mask);
        return new ShiftCount(cx.Const8((byte)known), known);
    }

    /// <summary>I1: the count is 0 (only for counts that are not known).</summary>
    public IrValue IsZero(LoweringContext cx) => cx.B.Compare(IrOpcode.CmpEq, Value, cx.Const8(0));
}
