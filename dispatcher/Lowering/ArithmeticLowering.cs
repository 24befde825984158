using Drk.Dispatcher.Flags;
using Drk.Dispatcher.IR;
using Iced.Intel;

namespace Drk.Dispatcher.Lowering;

/// <summary>Lowers ADD, ADC, SUB, SBB, CMP, NEG, INC, DEC, AND, OR, XOR, NOT and TEST, LOCK forms included.</summary>
/// <remarks>
/// LOCK needs nothing extra: vCPUs run one at a time, so a read-modify-write of memory is atomic
/// as lowered. A memory destination is stored before the flag thunk is written, so a faulting
/// store leaves the flags as they were.
/// </remarks>
public sealed class ArithmeticLowering : IInstructionLowering
{
    /// <inheritdoc />
    public bool TryLower(LoweringContext cx)
    {
        switch (cx.Insn.Mnemonic)
        {
            case Mnemonic.Add: Binary(cx, IrOpcode.Add, FlagsKind.Add, writeBack: true); return true;
            case Mnemonic.Sub: Binary(cx, IrOpcode.Sub, FlagsKind.Sub, writeBack: true); return true;
            case Mnemonic.Cmp: Binary(cx, IrOpcode.Sub, FlagsKind.Sub, writeBack: false); return true;
            case Mnemonic.And: Binary(cx, IrOpcode.And, FlagsKind.Logic, writeBack: true); return true;
            case Mnemonic.Or: Binary(cx, IrOpcode.Or, FlagsKind.Logic, writeBack: true); return true;
            case Mnemonic.Xor: Binary(cx, IrOpcode.Xor, FlagsKind.Logic, writeBack: true); return true;
            case Mnemonic.Test: Binary(cx, IrOpcode.And, FlagsKind.Logic, writeBack: false); return true;
            case Mnemonic.Adc: WithCarry(cx, IrOpcode.Add, FlagsKind.Adc); return true;
            case Mnemonic.Sbb: WithCarry(cx, IrOpcode.Sub, FlagsKind.Sbb); return true;
            case Mnemonic.Inc: IncDec(cx, IrOpcode.Add, FlagsKind.Inc); return true;
            case Mnemonic.Dec: IncDec(cx, IrOpcode.Sub, FlagsKind.Dec); return true;
            case Mnemonic.Neg: Negate(cx); return true;
            case Mnemonic.Not: Complement(cx); return true;
            default: return false;
        }
    }

    /// <summary>The address of a memory destination, computed once for the read and the write.</summary>
    internal static IrValue? DestinationAddress(LoweringContext cx) => cx.IsMemory(0) ? cx.EffectiveAddress() : null;

    private static void Binary(LoweringContext cx, IrOpcode op, FlagsKind kind, bool writeBack)
    {
        var ea = writeBack ? DestinationAddress(cx) : null;
        var a = cx.ReadOperand(0, ea);
        var b = cx.ReadOperand(1);
        var res = cx.B.Binary(op, a, b);
        if (writeBack) cx.WriteOperand(0, res, ea);
        if (kind == FlagsKind.Logic)
            cx.SetFlags(kind, a.Type, res, cx.Const64(0), cx.Const64(0));
        else
            cx.SetFlags(kind, a.Type, a, b, cx.Const64(0));
    }

    private static void WithCarry(LoweringContext cx, IrOpcode op, FlagsKind kind)
    {
        var ea = DestinationAddress(cx);
        var a = cx.ReadOperand(0, ea);
        var b = cx.ReadOperand(1);
        var carry = cx.Carry();
        var res = cx.B.Binary(op, cx.B.Binary(op, a, b), cx.B.ZExt(a.Type, carry));
        cx.WriteOperand(0, res, ea);
        cx.SetFlags(kind, a.Type, a, b, carry);
    }

    private static void IncDec(LoweringContext cx, IrOpcode op, FlagsKind kind)
    {
        var ea = DestinationAddress(cx);
        var a = cx.ReadOperand(0, ea);
        // INC/DEC keep CF; the thunk's ndep needs only the old carry (see FlagsKind.Inc)
        var carry = cx.Carry();
        var res = cx.B.Binary(op, a, cx.Const(a.Type, 1));
        cx.WriteOperand(0, res, ea);
        cx.SetFlags(kind, a.Type, res, cx.Const64(0), carry);
    }

    private static void Negate(LoweringContext cx)
    {
        var ea = DestinationAddress(cx);
        var a = cx.ReadOperand(0, ea);
        var res = cx.B.Unary(IrOpcode.Neg, a);
        cx.WriteOperand(0, res, ea);
        cx.SetFlags(FlagsKind.Sub, a.Type, cx.Const(a.Type, 0), a, cx.Const64(0));
    }

    private static void Complement(LoweringContext cx)
    {
        var ea = DestinationAddress(cx);
        var a = cx.ReadOperand(0, ea);
        cx.WriteOperand(0, cx.B.Unary(IrOpcode.Not, a), ea);
    }
}
