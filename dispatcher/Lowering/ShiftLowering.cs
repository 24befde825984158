using Drk.Hv.Cpu;
using Drk.Dispatcher.Flags;
using Drk.Dispatcher.IR;
using Iced.Intel;

namespace Drk.Dispatcher.Lowering;

/// <summary>Lowers SHL/SAL, SHR, SAR, ROL, ROR, RCL, RCR, SHLD, SHRD and the flagless SHLX, SHRX, SARX.</summary>
/// <remarks>
/// <para>The count is masked to 5 bits (6 for 64-bit operands). A masked count of 0 leaves every
/// flag unchanged but still writes the destination (a 32-bit register is zero-extended): for an
/// immediate count this is decided here, for CL the new thunk is selected against the old one.</para>
/// <para>8- and 16-bit operands can be shifted by more than their width (up to 31), so plain
/// shifts are done on the operand extended to 64 bits, where the IR's modulo-width count never
/// wraps. Where x86 leaves a result undefined (16-bit SHLD/SHRD by more than 16) Drk does what
/// the AMD Zen test hosts do: the bits entering after the source are the source again, and CF
/// is 0.</para>
/// </remarks>
public sealed class ShiftLowering : IInstructionLowering
{
    /// <inheritdoc />
    public bool TryLower(LoweringContext cx)
    {
        switch (cx.Insn.Mnemonic)
        {
            case Mnemonic.Shl or Mnemonic.Sal: Shift(cx, IrOpcode.Shl, FlagsKind.Shl); return true;
            case Mnemonic.Shr: Shift(cx, IrOpcode.Shr, FlagsKind.Shr); return true;
            case Mnemonic.Sar: Shift(cx, IrOpcode.Sar, FlagsKind.Sar); return true;
            case Mnemonic.Rol: Rotate(cx, IrOpcode.Rol, FlagsKind.Rol); return true;
            case Mnemonic.Ror: Rotate(cx, IrOpcode.Ror, FlagsKind.Ror); return true;
            case Mnemonic.Rcl: RotateThroughCarry(cx, left: true); return true;
            case Mnemonic.Rcr: RotateThroughCarry(cx, left: false); return true;
            case Mnemonic.Shld: DoubleShift(cx, left: true); return true;
            case Mnemonic.Shrd: DoubleShift(cx, left: false); return true;
            case Mnemonic.Shlx: ShiftWithoutFlags(cx, IrOpcode.Shl); return true;
            case Mnemonic.Shrx: ShiftWithoutFlags(cx, IrOpcode.Shr); return true;
            case Mnemonic.Sarx: ShiftWithoutFlags(cx, IrOpcode.Sar); return true;
            default: return false;
        }
    }

    private static void Shift(LoweringContext cx, IrOpcode op, FlagsKind kind)
    {
        var b = cx.B;
        var ea = ArithmeticLowering.DestinationAddress(cx);
        var value = cx.ReadOperand(0, ea);
        var type = value.Type;
        var count = ShiftCount.Read(cx, 1, type);
        if (count.Known == 0)
        {
            cx.WriteOperand(0, value, ea);
            return;
        }
        var wide = op == IrOpcode.Sar ? b.SExt(IrType.I64, value) : b.ZExt(IrType.I64, value);
        var res = b.Trunc(type, b.Shift(op, wide, count.Value));
        // the value shifted by one less holds the last bit shifted out (CF)
        var previous = b.Trunc(type, b.Shift(op, wide, b.Sub(count.Value, cx.Const8(1))));
        var old = count.IsKnown ? default : FlagThunk.Read(cx);
        cx.WriteOperand(0, res, ea);
        SetShiftFlags(cx, count, old, kind, type, res, previous, cx.Const64(0));
    }

    private static void Rotate(LoweringContext cx, IrOpcode op, FlagsKind kind)
    {
        var ea = ArithmeticLowering.DestinationAddress(cx);
        var value = cx.ReadOperand(0, ea);
        var type = value.Type;
        var count = ShiftCount.Read(cx, 1, type);
        if (count.Known == 0)
        {
            cx.WriteOperand(0, value, ea);
            return;
        }
        // the IR rotates modulo the width, as x86 does once the count is masked
        var res = cx.B.Shift(op, value, count.Value);
        var old = FlagThunk.Read(cx);
        var oldFlags = old.Flags(cx);
        cx.WriteOperand(0, res, ea);
        SetShiftFlags(cx, count, old, kind, type, res, cx.Const64(0), oldFlags);
    }

    /// <summary>
    /// RCL/RCR rotate the operand and CF together, a (width + 1)-bit rotate by the masked count
    /// modulo width + 1. CF and OF change whenever the masked count is not 0, even when the rotate
    /// count is (OF is then computed from the unchanged operand, as the hosts do).
    /// </summary>
    private static void RotateThroughCarry(LoweringContext cx, bool left)
    {
        var b = cx.B;
        var ea = ArithmeticLowering.DestinationAddress(cx);
        var value = cx.ReadOperand(0, ea);
        var type = value.Type;
        int width = IrTypes.Bits(type);
        var count = ShiftCount.Read(cx, 1, type);
        if (count.Known == 0)
        {
            cx.WriteOperand(0, value, ea);
            return;
        }
        var k = count.Value;
        if (width == 8)
            for (int i = 0; i < 3; i++) k = ReduceBelow(cx, k, 9);
        else if (width == 16)
            k = ReduceBelow(cx, k, 17);

        var oldFlags = cx.ArithmeticFlags();
        var carry = b.And(oldFlags, cx.Const64(Rflags.CF));
        var wide = b.ZExt(IrType.I64, value);
        var one = cx.Const8(1);
        var widthLessK = b.Sub(cx.Const8((byte)width), k);
        IrValue rotated, carryOut;
        // For 1 <= k <= width, with the two-step shifts never shifting by 64:
        //   RCL: (v << k) | (cf << (k - 1)) | (v >> (width + 1 - k)),  CF = bit (width - k) of v
        //   RCR: (v >> k) | (cf << (width - k)) | (v << (width + 1 - k)), CF = bit (k - 1) of v
        if (left)
        {
            rotated = b.Or(b.Or(b.Shift(IrOpcode.Shl, wide, k), b.Shift(IrOpcode.Shl, carry, b.Sub(k, one))),
                b.Shift(IrOpcode.Shr, b.Shift(IrOpcode.Shr, wide, widthLessK), one));
            carryOut = b.And(b.Shift(IrOpcode.Shr, wide, widthLessK), cx.Const64(1));
        }
        else
        {
            rotated = b.Or(b.Or(b.Shift(IrOpcode.Shr, wide, k), b.Shift(IrOpcode.Shl, carry, widthLessK)),
                b.Shift(IrOpcode.Shl, b.Shift(IrOpcode.Shl, wide, widthLessK), one));
            carryOut = b.And(b.Shift(IrOpcode.Shr, wide, b.Sub(k, one)), cx.Const64(1));
        }
        var noRotate = b.Compare(IrOpcode.CmpEq, k, cx.Const8(0));
        var res = b.Select(noRotate, value, b.Trunc(type, rotated));
        carryOut = b.Select(noRotate, carry, carryOut);

        // OF: RCL = top(result) ^ CF, RCR = top(result) ^ the bit below it
        var resWide = b.ZExt(IrType.I64, res);
        var topBit = b.Shift(IrOpcode.Shr, resWide, cx.Const8((byte)(width - 1)));
        var overflow = left
            ? b.Xor(b.And(topBit, cx.Const64(1)), carryOut)
            : b.And(b.Xor(topBit, b.Shift(IrOpcode.Shr, resWide, cx.Const8((byte)(width - 2)))), cx.Const64(1));
        var newFlags = b.Or(b.Or(b.And(oldFlags, cx.Const64(~(Rflags.CF | Rflags.OF))), carryOut),
            b.Shift(IrOpcode.Shl, overflow, cx.Const8(11)));

        cx.WriteOperand(0, res, ea);
        cx.SetFlagsCopy(count.IsKnown ? newFlags : b.Select(count.IsZero(cx), oldFlags, newFlags));
    }

    /// <summary>k - n when k &gt;= n, else k (I8): one step of k modulo n for k &lt; 2n.</summary>
    private static IrValue ReduceBelow(LoweringContext cx, IrValue k, byte n)
    {
        var b = cx.B;
        var n8 = cx.Const8(n);
        return b.Select(b.Compare(IrOpcode.CmpLeU, n8, k), b.Sub(k, n8), k);
    }

    /// <summary>
    /// SHLD dst, src, count: dst shifted left with src's top bits entering; SHRD: shifted right
    /// with src's low bits entering at the top.
    /// </summary>
    private static void DoubleShift(LoweringContext cx, bool left)
    {
        var b = cx.B;
        var ea = ArithmeticLowering.DestinationAddress(cx);
        var dst = cx.ReadOperand(0, ea);
        var src = cx.ReadGpr(cx.Insn.GetOpRegister(1));
        var type = dst.Type;
        var count = ShiftCount.Read(cx, 2, type);
        if (count.Known == 0)
        {
            cx.WriteOperand(0, dst, ea);
            return;
        }
        var c = count.Value;
        var one = cx.Const8(1);
        var d = b.ZExt(IrType.I64, dst);
        var s = b.ZExt(IrType.I64, src);
        IrValue res;
        if (type == IrType.I64)
        {
            // the part entering is shifted in two steps so that a count of 0 never shifts by 64
            var entering = left
                ? b.Shift(IrOpcode.Shr, b.Shift(IrOpcode.Shr, s, one), b.Sub(cx.Const8(63), c))
                : b.Shift(IrOpcode.Shl, b.Shift(IrOpcode.Shl, s, one), b.Sub(cx.Const8(63), c));
            res = b.Or(b.Shift(left ? IrOpcode.Shl : IrOpcode.Shr, d, c), entering);
        }
        else
        {
            // Concatenate into 64 bits and take a window: 32-bit dst:src (SHLD) or src:dst (SHRD);
            // 16-bit dst:src:src or src:src:dst, which also gives the hosts' result for counts > 16.
            var wide = type == IrType.I32
                ? (left ? b.Or(b.Shift(IrOpcode.Shl, d, cx.Const8(32)), s) : b.Or(b.Shift(IrOpcode.Shl, s, cx.Const8(32)), d))
                : left
                    ? b.Or(b.Or(b.Shift(IrOpcode.Shl, d, cx.Const8(32)), b.Shift(IrOpcode.Shl, s, cx.Const8(16))), s)
                    : b.Or(b.Or(b.Shift(IrOpcode.Shl, s, cx.Const8(32)), b.Shift(IrOpcode.Shl, s, cx.Const8(16))), d);
            res = b.Trunc(type, left
                ? b.Shift(IrOpcode.Shr, wide, b.Sub(cx.Const8(32), c))
                : b.Shift(IrOpcode.Shr, wide, c));
        }
        res = b.Trunc(type, res);
        // dst shifted by count - 1 holds CF; for 16-bit counts above 16 it is 0, as CF is on the hosts
        var previous = b.Trunc(type, b.Shift(left ? IrOpcode.Shl : IrOpcode.Shr, d, b.Sub(c, one)));
        var old = count.IsKnown ? default : FlagThunk.Read(cx);
        cx.WriteOperand(0, res, ea);
        SetShiftFlags(cx, count, old, left ? FlagsKind.Shl : FlagsKind.Shr, type, res, previous, cx.Const64(0));
    }

    /// <summary>SHLX/SHRX/SARX dst, src, count: the count masked to the width, no flags.</summary>
    private static void ShiftWithoutFlags(LoweringContext cx, IrOpcode op)
    {
        var src = cx.ReadOperand(1);
        var count = cx.B.Trunc(IrType.I8, cx.ReadOperand(2));
        cx.WriteOperand(0, cx.B.Shift(op, src, count));
    }

    /// <summary>Records the thunk of a shift or rotate, kept unchanged when a count from CL is 0.</summary>
    private static void SetShiftFlags(LoweringContext cx, ShiftCount count, FlagThunk old, FlagsKind kind, IrType type,
        IrValue dep1, IrValue dep2, IrValue ndep)
    {
        if (count.IsKnown)
            cx.SetFlags(kind, type, dep1, dep2, ndep);
        else
            old.SetFlagsUnless(cx, count.IsZero(cx), kind, type, dep1, dep2, ndep);
    }
}
