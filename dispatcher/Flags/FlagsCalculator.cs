using System.Runtime.CompilerServices;

namespace Drk.Dispatcher.Flags;

/// <summary>
/// Computes arithmetic flags and conditions from a lazy flag thunk. Used by the interpreter for
/// <c>CondFromFlags</c>/<c>FlagsFromThunk</c>, by the hypervisor to build RFLAGS for exception
/// frames, and by the optimiser to fold thunks whose cc_op is a known constant.
/// </summary>
/// <remarks>
/// What each kind's inputs hold is the contract in <see cref="FlagsKind"/>. Both methods are
/// allocation-free. <see cref="Evaluate"/> answers the conditions compilers branch on after
/// SUB/CMP, ADD, the logic ops and INC/DEC without computing the six flags; anything else
/// goes through <see cref="Compute"/>, which costs a switch and a handful of ALU operations.
/// </remarks>
public static class FlagsCalculator
{
    /// <summary>The six arithmetic flags (RFLAGS positions) described by the thunk.</summary>
    /// <exception cref="ArgumentOutOfRangeException">cc_op names no <see cref="FlagsKind"/> (a bug in whoever wrote the thunk).</exception>
    public static ulong Compute(ulong ccOp, ulong dep1, ulong dep2, ulong ndep)
    {
        int top = (8 << (int)(ccOp & 3)) - 1;
        ulong mask = ulong.MaxValue >> (63 - top);
        switch ((FlagsKind)(ccOp >> 2))
        {
            case FlagsKind.Copy:
                return dep1 & RflagsMask.Arithmetic;

            case FlagsKind.Add:
            {
                ulong res = (dep1 + dep2) & mask;
                ulong cf = res < dep1 ? RflagsMask.CF : 0;
                return cf | AddOverflow(dep1, dep2, res, top) | ((dep1 ^ dep2 ^ res) & RflagsMask.AF) | ZeroSignParity(res, top);
            }
            case FlagsKind.Adc:
            {
                ulong res = (dep1 + dep2 + (ndep & 1)) & mask;
                bool carry = (ndep & 1) != 0 ? res <= dep1 : res < dep1;
                ulong cf = carry ? RflagsMask.CF : 0;
                return cf | AddOverflow(dep1, dep2, res, top) | ((dep1 ^ dep2 ^ res) & RflagsMask.AF) | ZeroSignParity(res, top);
            }
            case FlagsKind.Sub:
            {
                ulong res = (dep1 - dep2) & mask;
                ulong cf = dep1 < dep2 ? RflagsMask.CF : 0;
                return cf | SubOverflow(dep1, dep2, res, top) | ((dep1 ^ dep2 ^ res) & RflagsMask.AF) | ZeroSignParity(res, top);
            }
            case FlagsKind.Sbb:
            {
                ulong res = (dep1 - dep2 - (ndep & 1)) & mask;
                bool borrow = (ndep & 1) != 0 ? dep1 <= dep2 : dep1 < dep2;
                ulong cf = borrow ? RflagsMask.CF : 0;
                return cf | SubOverflow(dep1, dep2, res, top) | ((dep1 ^ dep2 ^ res) & RflagsMask.AF) | ZeroSignParity(res, top);
            }
            case FlagsKind.Logic:
                return ZeroSignParity(dep1, top);

            case FlagsKind.Inc:
            {
                ulong of = dep1 == 1UL << top ? RflagsMask.OF : 0;
                ulong af = (dep1 & 0xf) == 0 ? RflagsMask.AF : 0;
                return (ndep & RflagsMask.CF) | of | af | ZeroSignParity(dep1, top);
            }
            case FlagsKind.Dec:
            {
                ulong of = dep1 == (1UL << top) - 1 ? RflagsMask.OF : 0;
                ulong af = (dep1 & 0xf) == 0xf ? RflagsMask.AF : 0;
                return (ndep & RflagsMask.CF) | of | af | ZeroSignParity(dep1, top);
            }
            case FlagsKind.Shl:
            {
                ulong cf = (dep2 >> top) & 1;
                ulong of = ((dep1 >> top) ^ cf) & 1;
                return cf | (of << 11) | RflagsMask.AF | ZeroSignParity(dep1, top);
            }
            case FlagsKind.Shr:
            {
                ulong of = ((dep1 ^ dep2) >> top) & 1;
                return (dep2 & 1) | (of << 11) | RflagsMask.AF | ZeroSignParity(dep1, top);
            }
            case FlagsKind.Sar:
                return (dep2 & 1) | RflagsMask.AF | ZeroSignParity(dep1, top);

            case FlagsKind.Rol:
            {
                ulong cf = dep1 & 1;
                ulong of = ((dep1 >> top) ^ cf) & 1;
                return (ndep & (RflagsMask.PF | RflagsMask.AF | RflagsMask.ZF | RflagsMask.SF)) | cf | (of << 11);
            }
            case FlagsKind.Ror:
            {
                ulong cf = (dep1 >> top) & 1;
                ulong of = ((dep1 >> top) ^ (dep1 >> (top - 1))) & 1;
                return (ndep & (RflagsMask.PF | RflagsMask.AF | RflagsMask.ZF | RflagsMask.SF)) | cf | (of << 11);
            }
            case FlagsKind.UMul:
                return (dep2 != 0 ? RflagsMask.CF | RflagsMask.OF : 0) | ZeroSignParity(dep1, top);

            case FlagsKind.SMul:
            {
                ulong signExtension = ((dep1 >> top) & 1) != 0 ? mask : 0;
                return (dep2 != signExtension ? RflagsMask.CF | RflagsMask.OF : 0) | ZeroSignParity(dep1, top);
            }
            case FlagsKind.Blsi:
                return (dep2 != 0 ? RflagsMask.CF : 0) | ZeroSignParity(dep1, top);

            case FlagsKind.Blsmsk:
                // the result of BLSMSK is never 0, so ZF comes out 0 as the architecture defines it
                return (dep2 == 0 ? RflagsMask.CF : 0) | ZeroSignParity(dep1, top);

            case FlagsKind.Blsr:
                return (dep2 == 0 ? RflagsMask.CF : 0) | ZeroSignParity(dep1, top);

            case FlagsKind.Bzhi:
                return (dep2 & RflagsMask.CF) | ZeroSignParity(dep1, top);

            default:
                return ThrowBadCcOp(ccOp);
        }
    }

    /// <summary>Evaluates x86 condition <paramref name="cond"/> on the thunk.</summary>
    /// <exception cref="ArgumentOutOfRangeException">cc_op names no <see cref="FlagsKind"/>.</exception>
    public static bool Evaluate(Condition cond, ulong ccOp, ulong dep1, ulong dep2, ulong ndep)
    {
        int top = (8 << (int)(ccOp & 3)) - 1;
        switch ((FlagsKind)(ccOp >> 2))
        {
            case FlagsKind.Sub:
            {
                // Operands are zero-extended, so unsigned order is plain ulong order and signed
                // order is the order of the operands shifted up to bit 63.
                int up = 63 - top;
                switch (cond)
                {
                    case Condition.E: return dep1 == dep2;
                    case Condition.NE: return dep1 != dep2;
                    case Condition.B: return dep1 < dep2;
                    case Condition.AE: return dep1 >= dep2;
                    case Condition.BE: return dep1 <= dep2;
                    case Condition.A: return dep1 > dep2;
                    case Condition.L: return (long)(dep1 << up) < (long)(dep2 << up);
                    case Condition.GE: return (long)(dep1 << up) >= (long)(dep2 << up);
                    case Condition.LE: return (long)(dep1 << up) <= (long)(dep2 << up);
                    case Condition.G: return (long)(dep1 << up) > (long)(dep2 << up);
                    case Condition.S: return (((dep1 - dep2) >> top) & 1) != 0;
                    case Condition.NS: return (((dep1 - dep2) >> top) & 1) == 0;
                }
                break;
            }
            case FlagsKind.Logic:
            {
                // CF = OF = 0: L is S, LE is (Z or S), B is never true.
                bool zero = dep1 == 0;
                bool sign = ((dep1 >> top) & 1) != 0;
                switch (cond)
                {
                    case Condition.E: return zero;
                    case Condition.NE: return !zero;
                    case Condition.B: return false;
                    case Condition.AE: return true;
                    case Condition.BE: return zero;
                    case Condition.A: return !zero;
                    case Condition.S or Condition.L: return sign;
                    case Condition.NS or Condition.GE: return !sign;
                    case Condition.LE: return zero | sign;
                    case Condition.G: return !(zero | sign);
                    case Condition.O: return false;
                    case Condition.NO: return true;
                }
                break;
            }
            case FlagsKind.Add:
            {
                ulong res = (dep1 + dep2) & (ulong.MaxValue >> (63 - top));
                switch (cond)
                {
                    case Condition.E: return res == 0;
                    case Condition.NE: return res != 0;
                    case Condition.B: return res < dep1;
                    case Condition.AE: return res >= dep1;
                    case Condition.BE: return res < dep1 | res == 0;
                    case Condition.A: return !(res < dep1 | res == 0);
                    case Condition.S: return ((res >> top) & 1) != 0;
                    case Condition.NS: return ((res >> top) & 1) == 0;
                }
                break;
            }
            case FlagsKind.Inc or FlagsKind.Dec:
                switch (cond)
                {
                    case Condition.E: return dep1 == 0;
                    case Condition.NE: return dep1 != 0;
                    case Condition.S: return ((dep1 >> top) & 1) != 0;
                    case Condition.NS: return ((dep1 >> top) & 1) == 0;
                }
                break;
        }
        return Test(cond, Compute(ccOp, dep1, dep2, ndep));
    }

    /// <summary>Evaluates <paramref name="cond"/> on explicit RFLAGS bits.</summary>
    public static bool Test(Condition cond, ulong rflags)
    {
        bool r;
        switch ((int)cond >> 1)
        {
            case 0: r = (rflags & RflagsMask.OF) != 0; break;
            case 1: r = (rflags & RflagsMask.CF) != 0; break;
            case 2: r = (rflags & RflagsMask.ZF) != 0; break;
            case 3: r = (rflags & (RflagsMask.CF | RflagsMask.ZF)) != 0; break;
            case 4: r = (rflags & RflagsMask.SF) != 0; break;
            case 5: r = (rflags & RflagsMask.PF) != 0; break;
            case 6: r = SignDiffersFromOverflow(rflags); break;
            default: r = (rflags & RflagsMask.ZF) != 0 || SignDiffersFromOverflow(rflags); break;
        }
        return r ^ (((int)cond & 1) != 0);
    }

    private static bool SignDiffersFromOverflow(ulong rflags) => (((rflags >> 7) ^ (rflags >> 11)) & 1) != 0;

    /// <summary>ZF, SF and PF of a result whose top bit is bit <paramref name="top"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong ZeroSignParity(ulong res, int top)
    {
        ulong zf = res == 0 ? RflagsMask.ZF : 0;
        ulong sf = ((res >> top) & 1) << 7;
        return zf | sf | Parity(res);
    }

    /// <summary>PF: set when the low byte has an even number of ones.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Parity(ulong res)
    {
        // 0x9669 has bit n set for every nibble n with an even number of ones
        uint nibble = (uint)((res ^ (res >> 4)) & 0xf);
        return ((0x9669u >> (int)nibble) & 1) << 2;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong AddOverflow(ulong a, ulong b, ulong res, int top) => (((a ^ res) & (b ^ res)) >> top & 1) << 11;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong SubOverflow(ulong a, ulong b, ulong res, int top) => (((a ^ b) & (a ^ res)) >> top & 1) << 11;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ulong ThrowBadCcOp(ulong ccOp) =>
        throw new ArgumentOutOfRangeException(nameof(ccOp), ccOp, "cc_op names no flags kind");
}
