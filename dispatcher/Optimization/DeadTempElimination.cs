using Drk.Dispatcher.IR;

namespace Drk.Dispatcher.Optimization;

/// <summary>Deletes pure ops (<see cref="IrEvaluator.IsPure"/>) whose result no later op reads.</summary>
public sealed class DeadTempElimination : IIrPass
{
    /// <inheritdoc />
    public string Name => "dead-temps";

    private bool[] _used = [];

    /// <inheritdoc />
    public void Run(IrBlock block)
    {
        var used = Scratch.Take(ref _used, block.TempCount);
        var ops = block.Ops;
        for (int i = ops.Length - 1; i >= 0; i--)
        {
            ref var op = ref ops[i];
            if (op.Code == IrOpcode.Nop) continue;
            if (IrEvaluator.IsPure(op.Code) && (op.Dst == IrOp.None || !used[op.Dst]))
            {
                TempRemap.Delete(ref op);
                continue;
            }
            if (op.A != IrOp.None) used[op.A] = true;
            if (op.B != IrOp.None) used[op.B] = true;
            if (op.C != IrOp.None) used[op.C] = true;
            if (op.D != IrOp.None) used[op.D] = true;
        }
    }
}
