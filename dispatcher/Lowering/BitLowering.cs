using Drk.Hv.Cpu;
using Drk.Dispatcher.Flags;
using Drk.Dispatcher.IR;
using Iced.Intel;

namespace Drk.Dispatcher.Lowering;

/// <summary>Lowers the bit instructions: BT, BTS, BTR, BTC, BSF, BSR, TZCNT, LZCNT, POPCNT and the BMI group ANDN, BLSI, BLSMSK, BLSR, BZHI.</summary>
/// <remarks>
/// BSF/BSR with a zero source leave the whole destination register unchanged, the upper half of
/// a 64-bit register included for 32-bit operands, as the test hosts do. BT* change CF only and
/// keep the other five flags (x86 leaves four of them undefined; the hosts keep them).
/// </remarks>
public sealed class BitLowering : IInstructionLowering
{
    /// <inheritdoc />
    public bool TryLower(LoweringContext cx)
    {
        switch (cx.Insn.Mnemonic)
        {
            case Mnemonic.Bt: BitTest(cx, null); return true;
            case Mnemonic.Bts: BitTest(cx, IrOpcode.Or); return true;
            case Mnemonic.Btr: BitTest(cx, IrOpcode.And); return true;
            case Mnemonic.Btc: BitTest(cx, IrOpcode.Xor); return true;
            case Mnemonic.Bsf: BitScan(cx, forward: true); return true;
            case Mnemonic.Bsr: BitScan(cx, forward: false); return true;
            case Mnemonic.Tzcnt: ZeroCount(cx, IrOpcode.Ctz); return true;
            case Mnemonic.Lzcnt: ZeroCount(cx, IrOpcode.Clz); return true;
            case Mnemonic.Popcnt: PopulationCount(cx); return true;
            case Mnemonic.Andn: AndNot(cx); return true;
            case Mnemonic.Blsi: LowestBit(cx, FlagsKind.Blsi); return true;
            case Mnemonic.Blsmsk: LowestBit(cx, FlagsKind.Blsmsk); return true;
            case Mnemonic.Blsr: LowestBit(cx, FlagsKind.Blsr); return true;
            case Mnemonic.Bzhi: ZeroHighBits(cx); return true;
            default: return false;
        }
    }

    /// <summary>
    /// BT/BTS/BTR/BTC. With a memory operand and a register offset the operand is a bit string:
    /// the signed offset selects the operand-sized word at base + (offset &gt;&gt; log2(width)) * size.
    /// Otherwise the offset is taken modulo the width. <paramref name="update"/> is the op that
    /// writes the bit back (Or sets, And with the inverted mask clears, Xor complements); null for BT.
    /// </summary>
    private static void BitTest(LoweringContext cx, IrOpcode? update)
    {
        var b = cx.B;
        var type = cx.OperandType(0);
        int width = IrTypes.Bits(type);
        var widthMask = cx.Const8((byte)(width - 1));
        IrValue? address = null;
        IrValue bitIndex;
        if (cx.Insn.GetOpKind(1) == OpKind.Register)
        {
            var offset = cx.ReadGpr(cx.Insn.GetOpRegister(1));
            bitIndex = b.And(b.Trunc(IrType.I8, offset), widthMask);
            if (cx.IsMemory(0))
            {
                // the byte offset of the word, rounded down to the operand size
                var byteOffset = b.And(b.Shift(IrOpcode.Sar, b.SExt(IrType.I64, offset), cx.Const8(3)),
                    cx.Const64(~(ulong)(IrTypes.Bytes(type) - 1)));
                var effective = b.Add(cx.EffectiveOffset(), byteOffset);
                // under a 32-bit address size the whole effective address wraps at 4 GiB
                if (cx.Insn.MemoryBase.GetSize() == 4 || cx.Insn.MemoryIndex.GetSize() == 4)
                    effective = b.ZExt(IrType.I64, b.Trunc(IrType.I32, effective));
                address = cx.AddSegmentBase(effective, cx.Insn.MemorySegment);
            }
        }
        else
        {
            bitIndex = cx.Const8((byte)(cx.Insn.GetImmediate(1) & (ulong)(width - 1)));
            if (cx.IsMemory(0)) address = cx.EffectiveAddress();
        }
        var value = cx.ReadOperand(0, address);
        var bit = b.And(b.Shift(IrOpcode.Shr, value, bitIndex), cx.Const(type, 1));
        var oldFlags = cx.ArithmeticFlags();
        if (update is { } op)
        {
            var mask = b.Shift(IrOpcode.Shl, cx.Const(type, 1), bitIndex);
            if (op == IrOpcode.And) mask = b.Unary(IrOpcode.Not, mask);
            cx.WriteOperand(0, b.Binary(op, value, mask), address);
        }
        cx.SetFlagsCopy(b.Or(b.And(oldFlags, cx.Const64(~Rflags.CF)), b.ZExt(IrType.I64, bit)));
    }

    /// <summary>BSF/BSR: the index of the lowest/highest set bit; ZF = (source == 0), destination unchanged then.</summary>
    private static void BitScan(LoweringContext cx, bool forward)
    {
        var b = cx.B;
        var src = cx.ReadOperand(1);
        var type = src.Type;
        var isZero = b.Compare(IrOpcode.CmpEq, src, cx.Const(type, 0));
        var index = forward
            ? b.Unary(IrOpcode.Ctz, src)
            : b.Sub(cx.Const(type, (ulong)IrTypes.Bits(type) - 1), b.Unary(IrOpcode.Clz, src));
        var dst = cx.Insn.GetOpRegister(0);
        if (type == IrType.I32)
        {
            // no zero-extension when nothing is written
            int slot = LoweringContext.Slot(dst);
            cx.Put(slot, b.Select(isZero, cx.Get(slot), b.ZExt(IrType.I64, index)));
        }
        else
        {
            cx.WriteGpr(dst, b.Select(isZero, cx.ReadGpr(dst), index));
        }
        cx.SetFlags(FlagsKind.Logic, type, src, cx.Const64(0), cx.Const64(0));
    }

    /// <summary>TZCNT/LZCNT: the count (the width for a zero source); CF = (source == 0), ZF = (count == 0).</summary>
    private static void ZeroCount(LoweringContext cx, IrOpcode op)
    {
        var src = cx.ReadOperand(1);
        var res = cx.B.Unary(op, src);
        cx.WriteOperand(0, res);
        cx.SetFlags(FlagsKind.Blsr, src.Type, res, src, cx.Const64(0));
    }

    /// <summary>POPCNT: all flags cleared but ZF = (source == 0).</summary>
    private static void PopulationCount(LoweringContext cx)
    {
        var b = cx.B;
        var src = cx.ReadOperand(1);
        var res = b.Unary(IrOpcode.Popcnt, src);
        var isZero = b.Compare(IrOpcode.CmpEq, src, cx.Const(src.Type, 0));
        cx.WriteOperand(0, res);
        cx.SetFlagsCopy(b.Select(isZero, cx.Const64(Rflags.ZF), cx.Const64(0)));
    }

    /// <summary>ANDN dst, a, b: dst = ~a &amp; b.</summary>
    private static void AndNot(LoweringContext cx)
    {
        var b = cx.B;
        var a = cx.ReadOperand(1);
        var c = cx.ReadOperand(2);
        var res = b.And(b.Unary(IrOpcode.Not, a), c);
        cx.WriteOperand(0, res);
        cx.SetFlags(FlagsKind.Logic, res.Type, res, cx.Const64(0), cx.Const64(0));
    }

    /// <summary>BLSI (src &amp; -src), BLSMSK (src ^ (src - 1)), BLSR (src &amp; (src - 1)).</summary>
    private static void LowestBit(LoweringContext cx, FlagsKind kind)
    {
        var b = cx.B;
        var src = cx.ReadOperand(1);
        var res = kind switch
        {
            FlagsKind.Blsi => b.And(src, b.Unary(IrOpcode.Neg, src)),
            FlagsKind.Blsmsk => b.Xor(src, b.Sub(src, cx.Const(src.Type, 1))),
            _ => b.And(src, b.Sub(src, cx.Const(src.Type, 1))),
        };
        cx.WriteOperand(0, res);
        cx.SetFlags(kind, src.Type, res, src, cx.Const64(0));
    }

    /// <summary>BZHI dst, src, index: src with the bits from index (bits 7:0) up cleared; CF = index &gt;= width.</summary>
    private static void ZeroHighBits(LoweringContext cx)
    {
        var b = cx.B;
        var src = cx.ReadOperand(1);
        var type = src.Type;
        var index = b.Trunc(IrType.I8, cx.ReadOperand(2));
        var inRange = b.Compare(IrOpcode.CmpLtU, index, cx.Const8((byte)IrTypes.Bits(type)));
        var one = cx.Const(type, 1);
        var kept = b.And(src, b.Sub(b.Shift(IrOpcode.Shl, one, index), one));
        var res = b.Select(inRange, kept, src);
        cx.WriteOperand(0, res);
        cx.SetFlags(FlagsKind.Bzhi, type, res, b.Select(inRange, cx.Const64(0), cx.Const64(1)), cx.Const64(0));
    }
}
