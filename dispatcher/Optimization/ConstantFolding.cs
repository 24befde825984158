using Drk.Dispatcher.Flags;
using Drk.Dispatcher.IR;

namespace Drk.Dispatcher.Optimization;

/// <summary>
/// Folds ops whose operands are constants into Const ops, applies algebraic identities
/// (x + 0, x &amp; 0, x ^ x, shift by 0, Select on a constant, truncating an extension back to
/// its source, ...), and resolves ExitIf on a constant condition (never taken: deleted; always
/// taken: becomes the block's Exit), and RaiseIf likewise (never: deleted; always: Raise).
/// </summary>
/// <remarks>
/// A division is folded only when it cannot raise #DE; otherwise it stays, to fault at run time.
/// Flag thunks with constant inputs are folded with <see cref="FlagsCalculator"/>, the same code
/// the interpreter runs.
/// </remarks>
public sealed class ConstantFolding : IIrPass
{
    /// <inheritdoc />
    public string Name => "fold-constants";

    private readonly TempRemap _remap = new();
    private bool[] _isConst = [];
    private ulong[] _value = [];
    private int[] _def = [];

    /// <inheritdoc />
    public void Run(IrBlock block)
    {
        var remap = _remap;
        remap.Reset(block.TempCount);
        var isConst = Scratch.Take(ref _isConst, block.TempCount);
        var value = Scratch.Take(ref _value, block.TempCount);
        var def = Scratch.Take(ref _def, block.TempCount);
        def.Fill(-1);
        var ops = block.Ops;
        for (int i = 0; i < ops.Length; i++)
        {
            ref var op = ref ops[i];
            remap.Apply(ref op);
            bool a = op.A != IrOp.None && isConst[op.A];
            bool b = op.B != IrOp.None && isConst[op.B];
            bool c = op.C != IrOp.None && isConst[op.C];
            bool d = op.D != IrOp.None && isConst[op.D];
            ulong va = a ? value[op.A] : 0, vb = b ? value[op.B] : 0, vc = c ? value[op.C] : 0, vd = d ? value[op.D] : 0;
            switch (op.Code)
            {
                case IrOpcode.Const:
                    break;
                case IrOpcode.ExitIf when a:
                    if (va == 0)
                    {
                        TempRemap.Delete(ref op);
                        break;
                    }
                    // Always taken: it is the block's exit, and nothing after it runs.
                    op.Code = IrOpcode.Exit;
                    op.A = IrOp.None;
                    for (int j = i + 1; j < ops.Length; j++) TempRemap.Delete(ref ops[j]);
                    return;
                case IrOpcode.RaiseIf when a:
                    if (va == 0)
                    {
                        TempRemap.Delete(ref op);
                        break;
                    }
                    // Always raised: the block ends here.
                    op.Code = IrOpcode.Raise;
                    op.A = IrOp.None;
                    for (int j = i + 1; j < ops.Length; j++) TempRemap.Delete(ref ops[j]);
                    return;
                case IrOpcode.CondFromFlags when a && b && c && d:
                    TempRemap.MakeConst(ref op, FlagsCalculator.Evaluate((Condition)op.Aux, va, vb, vc, vd) ? 1UL : 0UL);
                    break;
                case IrOpcode.FlagsFromThunk when a && b && c && d:
                    TempRemap.MakeConst(ref op, FlagsCalculator.Compute(va, vb, vc, vd));
                    break;
                case >= IrOpcode.DivU and <= IrOpcode.RemS when a && b && c:
                    if (IrEvaluator.TryDivide(op.Code, op.Type, va, vb, vc, out ulong quotient))
                        TempRemap.MakeConst(ref op, quotient);
                    break;
                default:
                    if (!IrEvaluator.IsComputable(op.Code)) break;
                    int operands = op.Code == IrOpcode.Select ? 3 : op.B != IrOp.None ? 2 : 1;
                    bool allConst = a && (operands < 2 || b) && (operands < 3 || c);
                    if (allConst && IrEvaluator.TryEvaluate(op.Code, op.Type, block.TypeOf(op.A), va, vb, vc, out ulong result))
                        TempRemap.MakeConst(ref op, result);
                    else if (!SimplifyConversion(ref op, remap, block, ops, def))
                        Simplify(ref op, remap, a, va, b, vb);
                    break;
            }
            if (op.Dst != IrOp.None && op.Code != IrOpcode.Nop) def[op.Dst] = i;
            if (op.Code == IrOpcode.Const && op.Dst != IrOp.None)
            {
                isConst[op.Dst] = true;
                value[op.Dst] = op.Imm;
            }
        }
    }

    /// <summary>
    /// Conversions of conversions: Trunc of an extension back to the source type is the source;
    /// Trunc of Trunc and ZExt of ZExt skip the middle step. True when it rewrote the op.
    /// </summary>
    private static bool SimplifyConversion(ref IrOp op, TempRemap remap, IrBlock block, Span<IrOp> ops, Span<int> def)
    {
        if (op.Code is not (IrOpcode.Trunc or IrOpcode.ZExt) || def[op.A] < 0) return false;
        ref readonly var inner = ref ops[def[op.A]];
        if (op.Code == IrOpcode.Trunc && inner.Code is IrOpcode.ZExt or IrOpcode.SExt && block.TypeOf(inner.A) == op.Type)
        {
            Forward(ref op, remap, inner.A);
            return true;
        }
        if ((op.Code == IrOpcode.Trunc && inner.Code == IrOpcode.Trunc) || (op.Code == IrOpcode.ZExt && inner.Code == IrOpcode.ZExt))
        {
            op.A = inner.A;
            if (block.TypeOf(op.A) == op.Type) Forward(ref op, remap, op.A);
            return true;
        }
        return false;
    }

    /// <summary>Identities with one constant operand, or the same operand twice.</summary>
    private static void Simplify(ref IrOp op, TempRemap remap, bool a, ulong va, bool b, ulong vb)
    {
        ulong mask = IrTypes.Mask(op.Type);
        switch (op.Code)
        {
            case IrOpcode.Add or IrOpcode.Or or IrOpcode.Xor when b && vb == 0:
            case IrOpcode.Sub when b && vb == 0:
            case >= IrOpcode.Shl and <= IrOpcode.Ror when b && vb % (ulong)IrTypes.Bits(op.Type) == 0:
            case IrOpcode.And when b && vb == mask:
            case IrOpcode.Mul when b && vb == 1:
                Forward(ref op, remap, op.A);
                return;
            case IrOpcode.Add or IrOpcode.Or or IrOpcode.Xor when a && va == 0:
            case IrOpcode.And when a && va == mask:
            case IrOpcode.Mul when a && va == 1:
                Forward(ref op, remap, op.B);
                return;
            case IrOpcode.And or IrOpcode.Mul when (a && va == 0) || (b && vb == 0):
                TempRemap.MakeConst(ref op, 0);
                return;
            case IrOpcode.Or when (a && va == mask) || (b && vb == mask):
                TempRemap.MakeConst(ref op, mask);
                return;
            case IrOpcode.Xor or IrOpcode.Sub when op.A == op.B:
                TempRemap.MakeConst(ref op, 0);
                return;
            case IrOpcode.And or IrOpcode.Or when op.A == op.B:
                Forward(ref op, remap, op.A);
                return;
            case IrOpcode.CmpEq or IrOpcode.CmpLeU or IrOpcode.CmpLeS when op.A == op.B:
                TempRemap.MakeConst(ref op, 1);
                return;
            case IrOpcode.CmpNe or IrOpcode.CmpLtU or IrOpcode.CmpLtS when op.A == op.B:
                TempRemap.MakeConst(ref op, 0);
                return;
            case IrOpcode.Select when a:
                Forward(ref op, remap, va != 0 ? op.B : op.C);
                return;
            case IrOpcode.Select when op.B == op.C:
                Forward(ref op, remap, op.B);
                return;
        }
    }

    private static void Forward(ref IrOp op, TempRemap remap, ushort to)
    {
        remap.Redirect(op.Dst, to);
        TempRemap.Delete(ref op);
    }
}
