using Drk.Dispatcher.IR;

namespace Drk.Dispatcher.Optimization;

/// <summary>
/// Local value numbering: a pure op that computes what an earlier op of the block already
/// computed (same opcode, type, small operands and temps, commutative operands in either order)
/// is deleted and its uses read the earlier temp. Lowering emits such repeats often: the same
/// constant per instruction, the same effective address for a load and a store, <c>xor eax, eax</c>
/// reading one register twice.
/// </summary>
/// <remarks>GetReg is left to <see cref="RegisterForwarding"/>, which knows when a slot changes.</remarks>
public sealed class CommonSubexpressionElimination : IIrPass
{
    /// <inheritdoc />
    public string Name => "cse";

    private readonly TempRemap _remap = new();
    private readonly ValueNumberTable _seen = new();

    /// <inheritdoc />
    public void Run(IrBlock block)
    {
        var remap = _remap;
        remap.Reset(block.TempCount);
        var seen = _seen;
        var ops = block.Ops;
        seen.Reset(ops.Length);
        for (int i = 0; i < ops.Length; i++)
        {
            ref var op = ref ops[i];
            remap.Apply(ref op);
            if (op.Dst == IrOp.None || op.Code == IrOpcode.GetReg || !IrEvaluator.IsPure(op.Code)) continue;
            ushort a = op.A, b = op.B;
            if (IsCommutative(op.Code) && a > b) (a, b) = (b, a);
            ushort earlier = seen.FindOrAdd(op.Code, op.Type, op.Aux, op.Imm, a, b, op.C, op.D, op.Dst);
            if (earlier != IrOp.None)
            {
                remap.Redirect(op.Dst, earlier);
                TempRemap.Delete(ref op);
            }
        }
    }

    private static bool IsCommutative(IrOpcode code) => code is
        IrOpcode.Add or IrOpcode.Mul or IrOpcode.MulHiU or IrOpcode.MulHiS or
        IrOpcode.And or IrOpcode.Or or IrOpcode.Xor or IrOpcode.CmpEq or IrOpcode.CmpNe;
}
