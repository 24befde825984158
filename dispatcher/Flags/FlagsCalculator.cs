using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Drk.Hv.Cpu;

namespace Drk.Dispatcher.Flags;

/// <summary>
/// Computes arithmetic flags and conditions from a lazy flag thunk. Used by the interpreter for
/// <c>CondFromFlags</c>/<c>FlagsFromThunk</c>, by the hypervisor to build RFLAGS for exception
/// frames, and by the optimiser to fold thunks whose cc_op is a known constant.
/// </summary>
/// <remarks>
/// What each kind's inputs hold is the contract in <see cref="FlagsKind"/>. Both methods are
/// allocation-free. <see cref="Evaluate"/> answers the conditions after SUB/CMP, ADD, the logic
/// ops and INC/DEC from four flags without branching on the condition; anything else goes
/// through <see cref="Compute"/>, which costs a switch and a handful of ALU operations.
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
                return dep1 & Rflags.Arithmetic;

            case FlagsKind.Add:
            {
                ulong res = (dep1 + dep2) & mask;
                ulong cf = res < dep1 ? Rflags.CF : 0;
                return cf | AddOverflow(dep1, dep2, res, top) | ((dep1 ^ dep2 ^ res) & Rflags.AF) | ZeroSignParity(res, top);
            }
            case FlagsKind.Adc:
            {
                ulong res = (dep1 + dep2 + (ndep & 1)) & mask;
                bool carry = (ndep & 1) != 0 ? res <= dep1 : res < dep1;
                ulong cf = carry ? Rflags.CF : 0;
                return cf | AddOverflow(dep1, dep2, res, top) | ((dep1 ^ dep2 ^ res) & Rflags.AF) | ZeroSignParity(res, top);
            }
            case FlagsKind.Sub:
            {
                ulong res = (dep1 - dep2) & mask;
                ulong cf = dep1 < dep2 ? Rflags.CF : 0;
                return cf | SubOverflow(dep1, dep2, res, top) | ((dep1 ^ dep2 ^ res) & Rflags.AF) | ZeroSignParity(res, top);
            }
            case FlagsKind.Sbb:
            {
                ulong res = (dep1 - dep2 - (ndep & 1)) & mask;
                bool borrow = (ndep & 1) != 0 ? dep1 <= dep2 : dep1 < dep2;
                ulong cf = borrow ? Rflags.CF : 0;
                return cf | SubOverflow(dep1, dep2, res, top) | ((dep1 ^ dep2 ^ res) & Rflags.AF) | ZeroSignParity(res, top);
            }
            case FlagsKind.Logic:
                return ZeroSignParity(dep1, top);

            case FlagsKind.Inc:
            {
                ulong of = dep1 == 1UL << top ? Rflags.OF : 0;
                ulong af = (dep1 & 0xf) == 0 ? Rflags.AF : 0;
                return (ndep & Rflags.CF) | of | af | ZeroSignParity(dep1, top);
            }
            case FlagsKind.Dec:
            {
                ulong of = dep1 == (1UL << top) - 1 ? Rflags.OF : 0;
                ulong af = (dep1 & 0xf) == 0xf ? Rflags.AF : 0;
                return (ndep & Rflags.CF) | of | af | ZeroSignParity(dep1, top);
            }
            case FlagsKind.Shl:
            {
                ulong cf = (dep2 >> top) & 1;
                ulong of = ((dep1 >> top) ^ cf) & 1;
                return cf | (of << 11) | Rflags.AF | ZeroSignParity(dep1, top);
            }
            case FlagsKind.Shr:
            {
                ulong of = ((dep1 ^ dep2) >> top) & 1;
                return (dep2 & 1) | (of << 11) | Rflags.AF | ZeroSignParity(dep1, top);
            }
            case FlagsKind.Sar:
                return (dep2 & 1) | Rflags.AF | ZeroSignParity(dep1, top);

            case FlagsKind.Rol:
            {
                ulong cf = dep1 & 1;
                ulong of = ((dep1 >> top) ^ cf) & 1;
                return (ndep & (Rflags.PF | Rflags.AF | Rflags.ZF | Rflags.SF)) | cf | (of << 11);
            }
            case FlagsKind.Ror:
            {
                ulong cf = (dep1 >> top) & 1;
                ulong of = ((dep1 >> top) ^ (dep1 >> (top - 1))) & 1;
                return (ndep & (Rflags.PF | Rflags.AF | Rflags.ZF | Rflags.SF)) | cf | (of << 11);
            }
            case FlagsKind.UMul:
                return (dep2 != 0 ? Rflags.CF | Rflags.OF : 0) | ZeroSignParity(dep1, top);

            case FlagsKind.SMul:
            {
                ulong signExtension = ((dep1 >> top) & 1) != 0 ? mask : 0;
                return (dep2 != signExtension ? Rflags.CF | Rflags.OF : 0) | ZeroSignParity(dep1, top);
            }
            case FlagsKind.Blsi:
                return (dep2 != 0 ? Rflags.CF : 0) | ZeroSignParity(dep1, top);

            case FlagsKind.Blsmsk:
                // the result of BLSMSK is never 0, so ZF comes out 0 as the architecture defines it
                return (dep2 == 0 ? Rflags.CF : 0) | ZeroSignParity(dep1, top);

            case FlagsKind.Blsr:
                return (dep2 == 0 ? Rflags.CF : 0) | ZeroSignParity(dep1, top);

            case FlagsKind.Bzhi:
                return (dep2 & Rflags.CF) | ZeroSignParity(dep1, top);

            default:
                return ThrowBadCcOp(ccOp);
        }
    }

    /// <summary>Evaluates x86 condition <paramref name="cond"/> on the thunk.</summary>
    /// <remarks>
    /// For Sub, Add, Logic, Inc and Dec (every condition but P/NP) it derives only ZF, CF, SF
    /// and OF, without branches, and looks the condition up in a truth table. The interpreter
    /// calls this from one site for every guest branch, so a switch on the condition would be
    /// an indirect jump that mispredicts as kinds and conditions change from branch to branch.
    /// Other kinds and P/NP cost a <see cref="Compute"/>.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">cc_op names no <see cref="FlagsKind"/>.</exception>
    public static bool Evaluate(Condition cond, ulong ccOp, ulong dep1, ulong dep2, ulong ndep)
    {
        int top = (8 << (int)(ccOp & 3)) - 1;
        uint zcso;
        switch ((FlagsKind)(ccOp >> 2))
        {
            case FlagsKind.Sub:
            {
                // operands are zero-extended, so plain ulong order is the unsigned order
                ulong res = dep1 - dep2;
                zcso = Bit(dep1 == dep2) | Bit(dep1 < dep2) << 1 | (uint)((res >> top) & 1) << 2
                    | (uint)((((dep1 ^ dep2) & (dep1 ^ res)) >> top) & 1) << 3;
                break;
            }
            case FlagsKind.Add:
            {
                ulong res = (dep1 + dep2) & (ulong.MaxValue >> (63 - top));
                zcso = Bit(res == 0) | Bit(res < dep1) << 1 | (uint)((res >> top) & 1) << 2
                    | (uint)((((dep1 ^ res) & (dep2 ^ res)) >> top) & 1) << 3;
                break;
            }
            case FlagsKind.Logic:
                zcso = Bit(dep1 == 0) | (uint)((dep1 >> top) & 1) << 2;
                break;
            case FlagsKind.Inc:
                zcso = Bit(dep1 == 0) | (uint)(ndep & 1) << 1 | (uint)((dep1 >> top) & 1) << 2 | Bit(dep1 == 1UL << top) << 3;
                break;
            case FlagsKind.Dec:
                zcso = Bit(dep1 == 0) | (uint)(ndep & 1) << 1 | (uint)((dep1 >> top) & 1) << 2 | Bit(dep1 == (1UL << top) - 1) << 3;
                break;
            default:
                return Test(cond, Compute(ccOp, dep1, dep2, ndep));
        }
        if (cond is Condition.P or Condition.NP) return Test(cond, Compute(ccOp, dep1, dep2, ndep));
        return ((BinaryPrimitives.ReadUInt16LittleEndian(ConditionTruth[(((int)cond & 15) * 2)..]) >> (int)zcso) & 1) != 0;
    }

    /// <summary>
    /// For each condition, bit i is its value when i = ZF | CF &lt;&lt; 1 | SF &lt;&lt; 2 | OF &lt;&lt; 3
    /// (P and NP, which need PF, are never looked up): two bytes per condition, low byte first.
    /// Constant bytes in the assembly rather than a static array, so <see cref="Evaluate"/> has no
    /// class-initialisation test (tiered compilation is off) and allocates nothing in a Debug build
    /// (a span literal of 16-bit elements would).
    /// </summary>
    private static ReadOnlySpan<byte> ConditionTruth =>
    [
        0x00, 0xff, 0xff, 0x00, // O, NO: OF
        0xcc, 0xcc, 0x33, 0x33, // B, AE: CF
        0xaa, 0xaa, 0x55, 0x55, // E, NE: ZF
        0xee, 0xee, 0x11, 0x11, // BE, A: CF or ZF
        0xf0, 0xf0, 0x0f, 0x0f, // S, NS: SF
        0x00, 0x00, 0x00, 0x00, // P, NP
        0xf0, 0x0f, 0x0f, 0xf0, // L, GE: SF != OF
        0xfa, 0xaf, 0x05, 0x50, // LE, G: ZF or SF != OF
    ];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Bit(bool b) => b ? 1u : 0u;

    /// <summary>Evaluates <paramref name="cond"/> on explicit RFLAGS bits.</summary>
    public static bool Test(Condition cond, ulong rflags)
    {
        bool r;
        switch ((int)cond >> 1)
        {
            case 0: r = (rflags & Rflags.OF) != 0; break;
            case 1: r = (rflags & Rflags.CF) != 0; break;
            case 2: r = (rflags & Rflags.ZF) != 0; break;
            case 3: r = (rflags & (Rflags.CF | Rflags.ZF)) != 0; break;
            case 4: r = (rflags & Rflags.SF) != 0; break;
            case 5: r = (rflags & Rflags.PF) != 0; break;
            case 6: r = SignDiffersFromOverflow(rflags); break;
            default: r = (rflags & Rflags.ZF) != 0 || SignDiffersFromOverflow(rflags); break;
        }
        return r ^ (((int)cond & 1) != 0);
    }

    private static bool SignDiffersFromOverflow(ulong rflags) => (((rflags >> 7) ^ (rflags >> 11)) & 1) != 0;

    /// <summary>ZF, SF and PF of a result whose top bit is bit <paramref name="top"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong ZeroSignParity(ulong res, int top)
    {
        ulong zf = res == 0 ? Rflags.ZF : 0;
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
