using Drk.Dispatcher.IR;
using Drk.Hv.Cpu;

namespace Drk.Dispatcher.Optimization;

/// <summary>
/// Get-after-put and get-after-get forwarding: a GetReg of a slot whose value a temp already
/// holds in this block (because it was Put or read before) is deleted and its uses read that temp.
/// </summary>
/// <remarks>A System op may write any guest state, so it forgets everything known.</remarks>
public sealed class RegisterForwarding : IIrPass
{
    /// <inheritdoc />
    public string Name => "forward-registers";

    private readonly TempRemap _remap = new();

    /// <inheritdoc />
    public void Run(IrBlock block)
    {
        var remap = _remap;
        remap.Reset(block.TempCount);
        Span<ushort> known = stackalloc ushort[GuestReg.Count];
        known.Fill(IrOp.None);
        var ops = block.Ops;
        for (int i = 0; i < ops.Length; i++)
        {
            ref var op = ref ops[i];
            remap.Apply(ref op);
            switch (op.Code)
            {
                case IrOpcode.GetReg:
                    if (known[op.Aux] != IrOp.None)
                    {
                        remap.Redirect(op.Dst, known[op.Aux]);
                        TempRemap.Delete(ref op);
                    }
                    else
                    {
                        known[op.Aux] = op.Dst;
                    }
                    break;
                case IrOpcode.PutReg:
                    known[op.Aux] = op.A;
                    break;
                case IrOpcode.System:
                    known.Fill(IrOp.None);
                    break;
            }
        }
    }
}
