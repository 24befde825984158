using Drk.Dispatcher.Flags;
using Drk.Dispatcher.IR;
using Iced.Intel;

namespace Drk.Dispatcher.Lowering;

/// <summary>Lowers MUL, IMUL (one, two and three operands), DIV and IDIV.</summary>
/// <remarks>
/// DIV and IDIV leave the flag thunk alone: x86 leaves all six flags undefined after them and
/// Drk defines them as unchanged. The division ops (which raise #DE) come before any register
/// write, so a divide error leaves RAX/RDX as they were.
/// </remarks>
public sealed class MulDivLowering : IInstructionLowering
{
    /// <inheritdoc />
    public bool TryLower(LoweringContext cx)
    {
        switch (cx.Insn.Mnemonic)
        {
            case Mnemonic.Mul:
                WideMultiply(cx, IrOpcode.MulHiU, FlagsKind.UMul);
                return true;
            case Mnemonic.Imul:
                if (cx.Insn.OpCount == 1) WideMultiply(cx, IrOpcode.MulHiS, FlagsKind.SMul);
                else SignedMultiply(cx);
                return true;
            case Mnemonic.Div:
                Divide(cx, IrOpcode.DivU, IrOpcode.RemU);
                return true;
            case Mnemonic.Idiv:
                Divide(cx, IrOpcode.DivS, IrOpcode.RemS);
                return true;
            default:
                return false;
        }
    }

    /// <summary>The accumulator (AL/AX/EAX/RAX) and its high partner (AH/DX/EDX/RDX) at a size.</summary>
    private static (Register Low, Register High) Accumulator(IrType type) => type switch
    {
        IrType.I8 => (Register.AL, Register.AH),
        IrType.I16 => (Register.AX, Register.DX),
        IrType.I32 => (Register.EAX, Register.EDX),
        _ => (Register.RAX, Register.RDX),
    };

    /// <summary>One-operand MUL/IMUL: AX = AL * r/m8, DX:AX, EDX:EAX or RDX:RAX = accumulator * r/m.</summary>
    private static void WideMultiply(LoweringContext cx, IrOpcode highOp, FlagsKind kind)
    {
        var b = cx.B;
        var src = cx.ReadOperand(0);
        var (lowReg, highReg) = Accumulator(src.Type);
        var a = cx.ReadGpr(lowReg);
        var low = b.Mul(a, src);
        var high = b.Binary(highOp, a, src);
        if (src.Type == IrType.I8)
        {
            var ax = b.Or(b.Shift(IrOpcode.Shl, b.ZExt(IrType.I16, high), cx.Const8(8)), b.ZExt(IrType.I16, low));
            cx.WriteGpr(Register.AX, ax);
        }
        else
        {
            cx.WriteGpr(lowReg, low);
            cx.WriteGpr(highReg, high);
        }
        cx.SetFlags(kind, src.Type, low, high, cx.Const64(0));
    }

    /// <summary>IMUL r, r/m (r = r * r/m) and IMUL r, r/m, imm (r = r/m * imm): the truncated product.</summary>
    private static void SignedMultiply(LoweringContext cx)
    {
        var b = cx.B;
        int first = cx.Insn.OpCount == 2 ? 0 : 1;
        var x = cx.ReadOperand(first);
        var y = cx.ReadOperand(first + 1);
        var low = b.Mul(x, y);
        var high = b.Binary(IrOpcode.MulHiS, x, y);
        cx.WriteOperand(0, low);
        cx.SetFlags(FlagsKind.SMul, low.Type, low, high, cx.Const64(0));
    }

    /// <summary>DIV/IDIV: AH:AL (for 8 bits), DX:AX, EDX:EAX or RDX:RAX divided by r/m.</summary>
    private static void Divide(LoweringContext cx, IrOpcode quotientOp, IrOpcode remainderOp)
    {
        var b = cx.B;
        var divisor = cx.ReadOperand(0);
        var (lowReg, highReg) = Accumulator(divisor.Type);
        var high = cx.ReadGpr(highReg);
        var low = cx.ReadGpr(lowReg);
        var quotient = b.Divide(quotientOp, high, low, divisor);
        var remainder = b.Divide(remainderOp, high, low, divisor);
        if (divisor.Type == IrType.I8)
        {
            // AL = quotient, AH = remainder
            var ax = b.Or(b.Shift(IrOpcode.Shl, b.ZExt(IrType.I16, remainder), cx.Const8(8)), b.ZExt(IrType.I16, quotient));
            cx.WriteGpr(Register.AX, ax);
        }
        else
        {
            cx.WriteGpr(lowReg, quotient);
            cx.WriteGpr(highReg, remainder);
        }
    }
}
