using Drk.Dispatcher.IR;
using Drk.Hv.Cpu;

namespace Drk.Dispatcher.Optimization;

/// <summary>
/// Deletes a PutReg whose slot is written again later in the block with nothing in between that
/// could observe it: no GetReg of the slot and no op that may fault or leave the block.
/// </summary>
/// <remarks>
/// Loads, stores, divisions, exits, Raise, RaiseIf, SoftInt, System ops and tool calls read all guest
/// state: a fault must see the state as it was before the faulting instruction, and a side exit
/// the state at its point. So a put survives whenever such an op separates it from the next put.
/// </remarks>
public sealed class DeadPutElimination : IIrPass
{
    /// <inheritdoc />
    public string Name => "dead-puts";

    /// <inheritdoc />
    public void Run(IrBlock block)
    {
        // overwritten[s]: walking backwards, slot s is written later with no read in between.
        Span<bool> overwritten = stackalloc bool[GuestReg.Count];
        var ops = block.Ops;
        for (int i = ops.Length - 1; i >= 0; i--)
        {
            ref var op = ref ops[i];
            switch (op.Code)
            {
                case IrOpcode.PutReg:
                    if (overwritten[op.Aux]) TempRemap.Delete(ref op);
                    else overwritten[op.Aux] = true;
                    break;
                case IrOpcode.GetReg:
                    overwritten[op.Aux] = false;
                    break;
                default:
                    if (ReadsAllState(op.Code)) overwritten.Clear();
                    break;
            }
        }
    }

    /// <summary>Ops that may fault, leave the block or let the outside look at guest state.</summary>
    public static bool ReadsAllState(IrOpcode code) => code is
        IrOpcode.Load or IrOpcode.Store or
        IrOpcode.DivU or IrOpcode.RemU or IrOpcode.DivS or IrOpcode.RemS or
        IrOpcode.ExitIf or IrOpcode.Exit or IrOpcode.ExitIndirect or IrOpcode.Raise or IrOpcode.RaiseIf or IrOpcode.SoftInt or
        IrOpcode.System or IrOpcode.CleanCall or IrOpcode.Meta;
}
