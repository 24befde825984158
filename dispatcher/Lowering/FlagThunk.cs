using Drk.Dispatcher.Flags;
using Drk.Dispatcher.IR;
using Drk.Hv.Cpu;

namespace Drk.Dispatcher.Lowering;

/// <summary>
/// The flag thunk as it was before the instruction being lowered, read once as four I64 values,
/// for instructions that keep some of the old flags or leave all of them unchanged at run time
/// (shifts and rotates by a count that turns out to be 0).
/// </summary>
internal readonly struct FlagThunk
{
    public readonly IrValue Op, Dep1, Dep2, Ndep;

    private FlagThunk(IrValue op, IrValue dep1, IrValue dep2, IrValue ndep)
    {
        Op = op;
        Dep1 = dep1;
        Dep2 = dep2;
        Ndep = ndep;
    }

    /// <summary>Reads the current thunk; call it before the instruction writes any flag slot.</summary>
    public static FlagThunk Read(LoweringContext cx) =>
        new(cx.Get(GuestReg.CcOp), cx.Get(GuestReg.CcDep1), cx.Get(GuestReg.CcDep2), cx.Get(GuestReg.CcNdep));

    /// <summary>The six arithmetic flags of this thunk as RFLAGS bits (I64).</summary>
    public IrValue Flags(LoweringContext cx) => cx.B.FlagsFromThunk(Op, Dep1, Dep2, Ndep);

    /// <summary>
    /// Records a new thunk, or keeps this one where <paramref name="keep"/> (I1) is true: the
    /// lazy form of "flags unchanged when the count is 0".
    /// </summary>
    public void SetFlagsUnless(LoweringContext cx, IrValue keep, FlagsKind kind, IrType size, IrValue dep1, IrValue dep2, IrValue ndep)
    {
        var b = cx.B;
        var op = cx.Const64(FlagsOps.Make(kind, IrTypes.Bytes(size)));
        var d1 = b.ZExt(IrType.I64, dep1);
        var d2 = b.ZExt(IrType.I64, dep2);
        var nd = b.ZExt(IrType.I64, ndep);
        b.PutReg(GuestReg.CcOp, b.Select(keep, Op, op));
        b.PutReg(GuestReg.CcDep1, b.Select(keep, Dep1, d1));
        b.PutReg(GuestReg.CcDep2, b.Select(keep, Dep2, d2));
        // When kept, ndep must stay the old one; when not, the new kind must not read it (SetFlags).
        if (FlagsOps.ReadsNdep(kind)) b.PutReg(GuestReg.CcNdep, b.Select(keep, Ndep, nd));
    }
}
