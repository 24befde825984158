using System.Buffers.Binary;
using System.Numerics;

namespace Drk.Dispatcher.IR;

/// <summary>
/// The value semantics of the IR's pure and arithmetic ops on concrete operands, as documented
/// on <see cref="IrOpcode"/>: the single definition the interpreter's less common ops, the
/// constant folder and the tests share.
/// </summary>
/// <remarks>Operands are zero-extended values of their types; results are zero-extended to the op's type.</remarks>
public static class IrEvaluator
{
    /// <summary>Sign-extends the low <paramref name="bits"/> bits of <paramref name="value"/> to 64 bits.</summary>
    public static long SignExtend(ulong value, int bits) => (long)(value << (64 - bits)) >> (64 - bits);

    /// <summary>
    /// True for ops whose result depends only on their operands and that have no effect or
    /// fault: they may be folded, moved or deleted when unused.
    /// </summary>
    public static bool IsPure(IrOpcode code) => code switch
    {
        IrOpcode.Const or IrOpcode.GetReg => true,
        >= IrOpcode.Add and <= IrOpcode.Ror => true,
        >= IrOpcode.Not and <= IrOpcode.Select => true,
        IrOpcode.CondFromFlags or IrOpcode.FlagsFromThunk => true,
        _ => false,
    };

    /// <summary>True for Add..Ror, Not..Select: the ops <see cref="TryEvaluate"/> computes.</summary>
    public static bool IsComputable(IrOpcode code) =>
        code is >= IrOpcode.Add and <= IrOpcode.Ror or >= IrOpcode.Not and <= IrOpcode.Select;

    /// <summary>
    /// Computes a value op of type <paramref name="type"/> whose first operand has type
    /// <paramref name="aType"/> (which matters for comparisons and sign extension).
    /// </summary>
    /// <returns>false for ops that are not computable here.</returns>
    public static bool TryEvaluate(IrOpcode code, IrType type, IrType aType, ulong a, ulong b, ulong c, out ulong result)
    {
        int bits = IrTypes.Bits(type);
        ulong mask = IrTypes.Mask(type);
        switch (code)
        {
            case IrOpcode.Add: result = (a + b) & mask; return true;
            case IrOpcode.Sub: result = (a - b) & mask; return true;
            case IrOpcode.Mul: result = (a * b) & mask; return true;
            case IrOpcode.MulHiU: result = MulHighUnsigned(type, a, b); return true;
            case IrOpcode.MulHiS: result = MulHighSigned(type, a, b); return true;
            case IrOpcode.And: result = a & b; return true;
            case IrOpcode.Or: result = a | b; return true;
            case IrOpcode.Xor: result = a ^ b; return true;
            case IrOpcode.Shl: result = (a << (int)(b % (uint)bits)) & mask; return true;
            case IrOpcode.Shr: result = a >> (int)(b % (uint)bits); return true;
            case IrOpcode.Sar: result = (ulong)(SignExtend(a, bits) >> (int)(b % (uint)bits)) & mask; return true;
            case IrOpcode.Rol: result = RotateLeft(a, (int)(b % (uint)bits), bits, mask); return true;
            case IrOpcode.Ror: result = RotateLeft(a, (int)((uint)(bits - (int)(b % (uint)bits)) % (uint)bits), bits, mask); return true;
            case IrOpcode.Not: result = ~a & mask; return true;
            case IrOpcode.Neg: result = (0 - a) & mask; return true;
            case IrOpcode.Popcnt: result = (ulong)BitOperations.PopCount(a); return true;
            case IrOpcode.Ctz: result = a == 0 ? (ulong)bits : (ulong)BitOperations.TrailingZeroCount(a); return true;
            case IrOpcode.Clz: result = a == 0 ? (ulong)bits : (ulong)(BitOperations.LeadingZeroCount(a) - (64 - bits)); return true;
            case IrOpcode.Bswap: result = ByteSwap(type, a); return true;
            case IrOpcode.CmpEq: result = a == b ? 1UL : 0UL; return true;
            case IrOpcode.CmpNe: result = a != b ? 1UL : 0UL; return true;
            case IrOpcode.CmpLtU: result = a < b ? 1UL : 0UL; return true;
            case IrOpcode.CmpLeU: result = a <= b ? 1UL : 0UL; return true;
            case IrOpcode.CmpLtS:
            {
                int w = IrTypes.Bits(aType);
                result = SignExtend(a, w) < SignExtend(b, w) ? 1UL : 0UL;
                return true;
            }
            case IrOpcode.CmpLeS:
            {
                int w = IrTypes.Bits(aType);
                result = SignExtend(a, w) <= SignExtend(b, w) ? 1UL : 0UL;
                return true;
            }
            case IrOpcode.ZExt: result = a; return true;
            case IrOpcode.SExt: result = (ulong)SignExtend(a, IrTypes.Bits(aType)) & mask; return true;
            case IrOpcode.Trunc: result = a & mask; return true;
            case IrOpcode.Select: result = a != 0 ? b : c; return true;
            default: result = 0; return false;
        }
    }

    private static ulong RotateLeft(ulong a, int count, int bits, ulong mask) =>
        count == 0 ? a : ((a << count) | (a >> (bits - count))) & mask;

    /// <summary>High half of the unsigned double-width product.</summary>
    public static ulong MulHighUnsigned(IrType type, ulong a, ulong b)
    {
        if (type == IrType.I64) return Math.BigMul(a, b, out _);
        int bits = IrTypes.Bits(type);
        // Both operands are below 2^32, so the full product fits in 64 bits.
        return (a * b) >> bits & IrTypes.Mask(type);
    }

    /// <summary>High half of the signed double-width product.</summary>
    public static ulong MulHighSigned(IrType type, ulong a, ulong b)
    {
        int bits = IrTypes.Bits(type);
        if (type == IrType.I64) return (ulong)Math.BigMul((long)a, (long)b, out _);
        long product = SignExtend(a, bits) * SignExtend(b, bits);
        return (ulong)(product >> bits) & IrTypes.Mask(type);
    }

    /// <summary>Byte swap; for I16 the two bytes swap, I8 and I1 are unchanged.</summary>
    public static ulong ByteSwap(IrType type, ulong a) => type switch
    {
        IrType.I16 => BinaryPrimitives.ReverseEndianness((ushort)a),
        IrType.I32 => BinaryPrimitives.ReverseEndianness((uint)a),
        IrType.I64 => BinaryPrimitives.ReverseEndianness(a),
        _ => a,
    };

    /// <summary>
    /// DivU/RemU/DivS/RemS of the double-width dividend <paramref name="high"/>:<paramref name="low"/>
    /// by <paramref name="divisor"/> at width <paramref name="type"/>.
    /// </summary>
    /// <returns>false for #DE: a zero divisor or a quotient that does not fit the type.</returns>
    public static bool TryDivide(IrOpcode code, IrType type, ulong high, ulong low, ulong divisor, out ulong result)
    {
        result = 0;
        if (divisor == 0 || type == IrType.I1) return false;
        int bits = IrTypes.Bits(type);
        ulong mask = IrTypes.Mask(type);
        bool signed = code is IrOpcode.DivS or IrOpcode.RemS;
        bool quotient = code is IrOpcode.DivU or IrOpcode.DivS;
        if (!signed)
        {
            UInt128 dividend = bits == 64 ? new UInt128(high, low) : (UInt128)((high << bits) | low);
            UInt128 q = dividend / divisor;
            if (q > mask) return false;
            result = quotient ? (ulong)q : (ulong)(dividend % divisor);
            return true;
        }
        Int128 sDividend = bits == 64
            ? (Int128)new UInt128(high, low)
            : SignExtend((high << bits) | low, 2 * bits);
        Int128 sDivisor = SignExtend(divisor, bits);
        Int128 sq, sr;
        if (sDivisor == -1)
        {
            // Int128.MinValue / -1 would overflow the host type; its quotient never fits anyway.
            if (sDividend == Int128.MinValue) return false;
            sq = -sDividend;
            sr = 0;
        }
        else
        {
            sq = sDividend / sDivisor;
            sr = sDividend % sDivisor;
        }
        Int128 min = -((Int128)1 << (bits - 1));
        Int128 max = ((Int128)1 << (bits - 1)) - 1;
        if (sq < min || sq > max) return false;
        result = (ulong)(quotient ? sq : sr) & mask;
        return true;
    }
}
