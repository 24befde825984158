using Drk.Hv.Cpu;
using Drk.Dispatcher.Flags;
using Drk.Dispatcher.IR;

namespace Drk.Dispatcher.Optimization;

/// <summary>
/// Replaces a CondFromFlags whose cc_op is a known constant by the comparison it stands for, at
/// the operation's width: after <c>cmp eax, ebx</c> (Sub, 32 bits), <c>jl</c> becomes
/// <c>CmpLtS (Trunc i32 dep1), (Trunc i32 dep2)</c>, <c>je</c> becomes <c>CmpEq dep1, dep2</c>.
/// </summary>
/// <remarks>
/// Covers the conditions compilers branch on: every condition after Sub (CMP, SUB) except
/// O/P, every condition after Logic (TEST, AND, ...) except P, Z/S/C after Add, Z/S after
/// Inc/Dec, Z/S/C after the shifts (the kernel's <c>shr $47, %rcx; jnz</c> on every system-call
/// return), and single-flag conditions after Copy. Others keep the general op. Run register
/// forwarding and constant folding first so that cc_op is seen as a constant.
/// </remarks>
public sealed class FlagsSpecialisation : IIrPass
{
    /// <inheritdoc />
    public string Name => "specialise-flags";

    private readonly Dictionary<ushort, ulong> _constants = new();

    /// <inheritdoc />
    public void Run(IrBlock block)
    {
        var constants = _constants;
        constants.Clear();
        for (int i = 0; i < block.Count; i++)
        {
            var op = block.Ops[i];
            if (op.Code == IrOpcode.Const)
            {
                constants[op.Dst] = op.Imm;
                continue;
            }
            if (op.Code != IrOpcode.CondFromFlags || !constants.TryGetValue(op.A, out ulong ccOp)) continue;
            var emitter = new Emitter(block, i, op);
            if (Specialise(ref emitter, (Condition)op.Aux, ccOp, op.B, op.C))
                i = emitter.Position;
        }
    }

    private static bool Specialise(ref Emitter e, Condition cond, ulong ccOp, ushort dep1, ushort dep2)
    {
        int bits = FlagsOps.Bits(ccOp);
        var t = IrTypes.FromBytes(bits / 8);
        switch (FlagsOps.Kind(ccOp))
        {
            case FlagsKind.Sub:
                switch (cond)
                {
                    case Condition.E: return e.Finish(IrOpcode.CmpEq, dep1, dep2);
                    case Condition.NE: return e.Finish(IrOpcode.CmpNe, dep1, dep2);
                    case Condition.B: return e.Finish(IrOpcode.CmpLtU, dep1, dep2);
                    case Condition.AE: return e.Finish(IrOpcode.CmpLeU, dep2, dep1);
                    case Condition.BE: return e.Finish(IrOpcode.CmpLeU, dep1, dep2);
                    case Condition.A: return e.Finish(IrOpcode.CmpLtU, dep2, dep1);
                    case Condition.L: return e.Finish(IrOpcode.CmpLtS, e.Trunc(t, dep1), e.Trunc(t, dep2));
                    case Condition.GE: return e.Finish(IrOpcode.CmpLeS, e.Trunc(t, dep2), e.Trunc(t, dep1));
                    case Condition.LE: return e.Finish(IrOpcode.CmpLeS, e.Trunc(t, dep1), e.Trunc(t, dep2));
                    case Condition.G: return e.Finish(IrOpcode.CmpLtS, e.Trunc(t, dep2), e.Trunc(t, dep1));
                    case Condition.S or Condition.NS:
                    {
                        var result = e.Emit(IrOpcode.Sub, t, e.Trunc(t, dep1), e.Trunc(t, dep2));
                        return SignOf(ref e, cond == Condition.S, t, result);
                    }
                }
                return false;
            case FlagsKind.Logic:
                switch (cond)
                {
                    case Condition.B or Condition.O: return e.FinishConst(0);
                    case Condition.AE or Condition.NO: return e.FinishConst(1);
                    case Condition.E or Condition.BE: return e.Finish(IrOpcode.CmpEq, dep1, e.Const(IrType.I64, 0));
                    case Condition.NE or Condition.A: return e.Finish(IrOpcode.CmpNe, dep1, e.Const(IrType.I64, 0));
                    case Condition.S or Condition.L: return SignOf(ref e, true, t, e.Trunc(t, dep1));
                    case Condition.NS or Condition.GE: return SignOf(ref e, false, t, e.Trunc(t, dep1));
                    case Condition.LE: return e.Finish(IrOpcode.CmpLeS, e.Trunc(t, dep1), e.Const(t, 0));
                    case Condition.G: return e.Finish(IrOpcode.CmpLtS, e.Const(t, 0), e.Trunc(t, dep1));
                }
                return false;
            case FlagsKind.Add:
                switch (cond)
                {
                    case Condition.E or Condition.NE:
                    {
                        var sum = e.Emit(IrOpcode.Add, t, e.Trunc(t, dep1), e.Trunc(t, dep2));
                        return e.Finish(cond == Condition.E ? IrOpcode.CmpEq : IrOpcode.CmpNe, sum, e.Const(t, 0));
                    }
                    case Condition.B or Condition.AE:
                    {
                        // The carry out of a + b is set exactly when the truncated sum is below a.
                        var a = e.Trunc(t, dep1);
                        var sum = e.Emit(IrOpcode.Add, t, a, e.Trunc(t, dep2));
                        return cond == Condition.B ? e.Finish(IrOpcode.CmpLtU, sum, a) : e.Finish(IrOpcode.CmpLeU, a, sum);
                    }
                    case Condition.S or Condition.NS:
                    {
                        var sum = e.Emit(IrOpcode.Add, t, e.Trunc(t, dep1), e.Trunc(t, dep2));
                        return SignOf(ref e, cond == Condition.S, t, sum);
                    }
                }
                return false;
            case FlagsKind.Inc or FlagsKind.Dec or FlagsKind.Shl or FlagsKind.Shr or FlagsKind.Sar:
            {
                // ZF and SF from the result in dep1; CF only for the shifts (INC and DEC keep the old one).
                var kind = FlagsOps.Kind(ccOp);
                switch (cond)
                {
                    case Condition.E: return e.Finish(IrOpcode.CmpEq, dep1, e.Const(IrType.I64, 0));
                    case Condition.NE: return e.Finish(IrOpcode.CmpNe, dep1, e.Const(IrType.I64, 0));
                    case Condition.S or Condition.NS: return SignOf(ref e, cond == Condition.S, t, e.Trunc(t, dep1));
                    // The last bit shifted out: at the top of dep2 for SHL, at bit 0 for SHR and SAR.
                    case Condition.B or Condition.AE when kind == FlagsKind.Shl:
                        return SignOf(ref e, cond == Condition.B, t, e.Trunc(t, dep2));
                    case Condition.B or Condition.AE when kind is FlagsKind.Shr or FlagsKind.Sar:
                    {
                        var bit = e.Emit(IrOpcode.And, IrType.I64, dep2, e.Const(IrType.I64, 1));
                        return e.Finish(cond == Condition.B ? IrOpcode.CmpNe : IrOpcode.CmpEq, bit, e.Const(IrType.I64, 0));
                    }
                }
                return false;
            }
            case FlagsKind.Copy:
            {
                ulong bit = cond switch
                {
                    Condition.O or Condition.NO => Rflags.OF,
                    Condition.B or Condition.AE => Rflags.CF,
                    Condition.E or Condition.NE => Rflags.ZF,
                    Condition.S or Condition.NS => Rflags.SF,
                    Condition.P or Condition.NP => Rflags.PF,
                    _ => 0,
                };
                if (bit == 0) return false;
                var flag = e.Emit(IrOpcode.And, IrType.I64, dep1, e.Const(IrType.I64, bit));
                // Even conditions test the flag set, odd ones its complement.
                return e.Finish(((byte)cond & 1) == 0 ? IrOpcode.CmpNe : IrOpcode.CmpEq, flag, e.Const(IrType.I64, 0));
            }
        }
        return false;
    }

    /// <summary>Finishes with "value is negative" (or not) at type <paramref name="t"/>.</summary>
    private static bool SignOf(ref Emitter e, bool negative, IrType t, ushort value) =>
        negative
            ? e.Finish(IrOpcode.CmpLtS, value, e.Const(t, 0))
            : e.Finish(IrOpcode.CmpLeS, e.Const(t, 0), value);

    /// <summary>Inserts ops before the CondFromFlags being replaced, then rewrites it in place (same result temp).</summary>
    private ref struct Emitter(IrBlock block, int position, IrOp original)
    {
        /// <summary>Index of the op being replaced (moves as ops are inserted before it).</summary>
        public int Position = position;

        public ushort Emit(IrOpcode code, IrType type, ushort a, ushort b)
        {
            var dst = block.NewTemp(type);
            block.Insert(Position++, new IrOp
            {
                Code = code, Type = type, Guest = original.Guest, IsMeta = original.IsMeta,
                Dst = dst.Id, A = a, B = b, C = IrOp.None, D = IrOp.None,
            });
            return dst.Id;
        }

        public ushort Const(IrType type, ulong value)
        {
            var dst = block.NewTemp(type);
            block.Insert(Position++, new IrOp
            {
                Code = IrOpcode.Const, Type = type, Guest = original.Guest, IsMeta = original.IsMeta,
                Dst = dst.Id, A = IrOp.None, B = IrOp.None, C = IrOp.None, D = IrOp.None, Imm = value,
            });
            return dst.Id;
        }

        /// <summary>The low bits of an I64 temp as <paramref name="type"/> (the temp itself at I64).</summary>
        public ushort Trunc(IrType type, ushort value) =>
            type == IrType.I64 ? value : Emit(IrOpcode.Trunc, type, value, IrOp.None);

        public bool Finish(IrOpcode compare, ushort a, ushort b)
        {
            ref var op = ref block.Ops[Position];
            op.Code = compare;
            op.Aux = 0;
            op.A = a;
            op.B = b;
            op.C = op.D = IrOp.None;
            return true;
        }

        public bool FinishConst(ulong value)
        {
            ref var op = ref block.Ops[Position];
            TempRemap.MakeConst(ref op, value);
            return true;
        }
    }
}
