using Drk.Dispatcher.IR;

namespace Drk.Dispatcher.Optimization;

/// <summary>
/// Replacement of temps by other temps within one pass: when an op turns out to compute a value
/// already held by an earlier temp, the op is deleted and later operands are redirected.
/// </summary>
internal sealed class TempRemap
{
    private ushort[] _to = [];

    /// <summary>Starts a block of <paramref name="tempCount"/> temps with no redirections (reuses the array).</summary>
    public void Reset(int tempCount)
    {
        var to = Scratch.Take(ref _to, tempCount);
        for (int i = 0; i < to.Length; i++) to[i] = (ushort)i;
    }

    /// <summary>From now on, uses of <paramref name="from"/> read <paramref name="to"/> (same type).</summary>
    public void Redirect(ushort from, ushort to) => _to[from] = _to[to];

    /// <summary>Applies the redirections to the operands of <paramref name="op"/>.</summary>
    public void Apply(ref IrOp op)
    {
        if (op.A != IrOp.None) op.A = _to[op.A];
        if (op.B != IrOp.None) op.B = _to[op.B];
        if (op.C != IrOp.None) op.C = _to[op.C];
        if (op.D != IrOp.None) op.D = _to[op.D];
    }

    /// <summary>Deletes <paramref name="op"/> in place.</summary>
    public static void Delete(ref IrOp op) => op = new IrOp
    {
        Code = IrOpcode.Nop, Guest = op.Guest, IsMeta = op.IsMeta,
        Dst = IrOp.None, A = IrOp.None, B = IrOp.None, C = IrOp.None, D = IrOp.None,
    };

    /// <summary>Turns <paramref name="op"/> into a Const of its own type and result temp.</summary>
    public static void MakeConst(ref IrOp op, ulong value)
    {
        op.Code = IrOpcode.Const;
        op.Imm = value & IrTypes.Mask(op.Type);
        op.Aux = 0;
        op.A = op.B = op.C = op.D = IrOp.None;
    }
}
