using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Drk.Dispatcher.IR;

/// <summary>
/// The value semantics of the IR's pure and arithmetic ops on concrete operands, as documented
/// on <see cref="IrOpcode"/>: the single definition the interpreter's less common ops, the
/// constant folder and the tests share.
/// </summary>
/// <remarks>Operands are zero-extended values of their types; results are zero-extended to the op's type.</remarks>
public static class IrEvaluator
{
    // A static array rather than a span literal: a Debug build allocates span literals of
    // multi-byte elements on every access, and tests assert the interpreter allocates nothing.
    private static readonly ulong[] MaskTable = [1UL, 0xffUL, 0xffffUL, 0xffff_ffffUL, ulong.MaxValue];

    /// <summary>All-ones mask of each <see cref="IrType"/>, indexed by the type's value (cheaper than a switch on hot paths).</summary>
    public static ReadOnlySpan<ulong> Masks => MaskTable;

    /// <summary>
    /// Width in bits of each <see cref="IrType"/>, indexed by the type's value: constant bytes in the
    /// assembly, so the paths that read it have no class-initialisation test (tiered compilation is
    /// off, so code compiled before the class's statics existed would keep one).
    /// </summary>
    public static ReadOnlySpan<byte> Widths => [1, 8, 16, 32, 64];

    /// <summary>The all-ones mask of a width from <see cref="Widths"/> (computed: no table load).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong MaskOfWidth(int bits) => ulong.MaxValue >> (64 - bits);

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
        int bits = Widths[(int)type];
        ulong mask = MaskOfWidth(bits);
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
                int w = Widths[(int)aType];
                result = SignExtend(a, w) < SignExtend(b, w) ? 1UL : 0UL;
                return true;
            }
            case IrOpcode.CmpLeS:
            {
                int w = Widths[(int)aType];
                result = SignExtend(a, w) <= SignExtend(b, w) ? 1UL : 0UL;
                return true;
            }
            case IrOpcode.ZExt: result = a; return true;
            case IrOpcode.SExt: result = (ulong)SignExtend(a, Widths[(int)aType]) & mask; return true;
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
        int bits = Widths[(int)type];
        // Both operands are below 2^32, so the full product fits in 64 bits.
        return (a * b) >> bits & MaskOfWidth(bits);
    }

    /// <summary>High half of the signed double-width product.</summary>
    public static ulong MulHighSigned(IrType type, ulong a, ulong b)
    {
        int bits = Widths[(int)type];
        if (type == IrType.I64) return (ulong)Math.BigMul((long)a, (long)b, out _);
        long product = SignExtend(a, bits) * SignExtend(b, bits);
        return (ulong)(product >> bits) & MaskOfWidth(bits);
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
        int bits = Widths[(int)type];
        ulong mask = MaskOfWidth(bits);
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
