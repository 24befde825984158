using Drk.Dispatcher.Flags;
using Drk.Dispatcher.IR;
using Drk.Dispatcher.Tests.Execution;
using Drk.Hv.Cpu;

namespace Drk.Dispatcher.Tests.Jit;

/// <summary>
/// Every value op of the IR at every type it takes, compiled and interpreted on the same random
/// and edge-case inputs: the compiled block must produce exactly the interpreter's result, state
/// and <see cref="Dispatcher.Execution.BlockResult"/> (and the same host exception for a malformed thunk).
/// </summary>
/// <remarks>
/// Each block reads its inputs from RAX, RBX, RCX (truncated to the operand types), applies the op
/// and writes the zero-extended result to RDX, so one compiled block is run on many inputs.
/// </remarks>
public sealed class JitOpEquivalenceTests
{
    private const int Inputs = 48;
    private static readonly IrType[] AllTypes = [IrType.I1, IrType.I8, IrType.I16, IrType.I32, IrType.I64];
    private static readonly IrType[] IntegerTypes = [IrType.I8, IrType.I16, IrType.I32, IrType.I64];

    private delegate IrValue OpBuilder(IrBuilder b, IrValue a, IrValue x, IrValue c);

    [Fact]
    public void Binary_ops_match_the_interpreter_at_every_type()
    {
        foreach (var code in new[] { IrOpcode.Add, IrOpcode.Sub, IrOpcode.Mul, IrOpcode.MulHiU, IrOpcode.MulHiS, IrOpcode.And, IrOpcode.Or, IrOpcode.Xor })
            foreach (var t in AllTypes)
                Check($"{code} {t}", t, t, t, (b, a, x, _) => b.Binary(code, a, x));
    }

    [Fact]
    public void Shifts_and_rotates_match_the_interpreter_at_every_type_and_count()
    {
        foreach (var code in new[] { IrOpcode.Shl, IrOpcode.Shr, IrOpcode.Sar, IrOpcode.Rol, IrOpcode.Ror })
            foreach (var t in AllTypes)
                Check($"{code} {t}", t, IrType.I8, IrType.I8, (b, a, x, _) => b.Shift(code, a, x));
    }

    [Fact]
    public void Divisions_match_the_interpreter_including_divide_errors()
    {
        foreach (var code in new[] { IrOpcode.DivU, IrOpcode.RemU, IrOpcode.DivS, IrOpcode.RemS })
            foreach (var t in IntegerTypes)
                Check($"{code} {t}", t, t, t, (b, a, x, c) => b.Divide(code, a, x, c), divisionInputs: true);
    }

    [Fact]
    public void Unary_ops_match_the_interpreter_at_every_type()
    {
        foreach (var code in new[] { IrOpcode.Not, IrOpcode.Neg, IrOpcode.Popcnt, IrOpcode.Ctz, IrOpcode.Clz, IrOpcode.Bswap })
            foreach (var t in AllTypes)
                Check($"{code} {t}", t, t, t, (b, a, _, _) => b.Unary(code, a));
    }

    [Fact]
    public void Comparisons_match_the_interpreter_materialised_and_fused_with_ExitIf_and_Select()
    {
        foreach (var code in new[] { IrOpcode.CmpEq, IrOpcode.CmpNe, IrOpcode.CmpLtU, IrOpcode.CmpLeU, IrOpcode.CmpLtS, IrOpcode.CmpLeS })
            foreach (var t in AllTypes)
            {
                Check($"{code} {t}", t, t, t, (b, a, x, _) => b.Compare(code, a, x));
                CheckBranch($"{code} {t} -> ExitIf", t, t, (b, a, x) => b.Compare(code, a, x));
                Check($"{code} {t} -> Select", t, t, IrType.I64, (b, a, x, c) => b.Select(b.Compare(code, a, x), c, b.Const64(0x5a5a)));
            }
    }

    [Fact]
    public void Conversions_and_Select_match_the_interpreter_between_every_pair_of_types()
    {
        foreach (var from in AllTypes)
            foreach (var to in AllTypes)
            {
                if (from <= to)
                {
                    Check($"ZExt {from}->{to}", from, from, from, (b, a, _, _) => Raw(b, IrOpcode.ZExt, to, a));
                    Check($"SExt {from}->{to}", from, from, from, (b, a, _, _) => Raw(b, IrOpcode.SExt, to, a));
                }
                if (from >= to)
                    Check($"Trunc {from}->{to}", from, from, from, (b, a, _, _) => Raw(b, IrOpcode.Trunc, to, a));
            }
        foreach (var t in AllTypes)
            Check($"Select {t}", IrType.I1, t, t, (b, cond, x, c) => b.Select(cond, x, c));
    }

    [Fact]
    public void Flag_conditions_on_a_constant_cc_op_match_the_interpreter_for_every_kind_size_and_condition()
    {
        for (int kind = 0; kind <= (int)FlagsKind.Bzhi; kind++)
            for (int size = 0; size < 4; size++)
                for (int cond = 0; cond < 16; cond++)
                {
                    ulong ccOp = (uint)(kind << 2 | size);
                    var c = (Condition)cond;
                    string name = $"CondFromFlags {c} on {(FlagsKind)kind}/{8 << size} (constant cc_op)";
                    Check(name, IrType.I64, IrType.I64, IrType.I64,
                        (b, d1, d2, nd) => b.CondFromFlags(c, b.Const64(ccOp), d1, d2, nd), thunkSize: size);
                    CheckBranch(name + " -> ExitIf", IrType.I64, IrType.I64,
                        (b, d1, d2) => b.CondFromFlags(c, b.Const64(ccOp), d1, d2, b.Const64(1)), thunkSize: size);
                }
    }

    [Fact]
    public void Flag_conditions_and_flags_on_a_run_time_cc_op_match_the_interpreter()
    {
        for (int cond = 0; cond < 16; cond++)
        {
            var c = (Condition)cond;
            Check($"CondFromFlags {c} (cc_op in RDI)", IrType.I64, IrType.I64, IrType.I64,
                (b, d1, d2, nd) => b.CondFromFlags(c, b.GetReg(GuestReg.Rdi), d1, d2, nd), randomCcOp: true);
        }
        Check("FlagsFromThunk (cc_op in RDI)", IrType.I64, IrType.I64, IrType.I64,
            (b, d1, d2, nd) => b.FlagsFromThunk(b.GetReg(GuestReg.Rdi), d1, d2, nd), randomCcOp: true);
        for (int kind = 0; kind <= (int)FlagsKind.Bzhi; kind++)
            for (int size = 0; size < 4; size++)
            {
                ulong ccOp = (uint)(kind << 2 | size);
                Check($"FlagsFromThunk {(FlagsKind)kind}/{8 << size}", IrType.I64, IrType.I64, IrType.I64,
                    (b, d1, d2, nd) => b.FlagsFromThunk(b.Const64(ccOp), d1, d2, nd), thunkSize: size);
            }
    }

    [Fact]
    public void A_cc_op_naming_no_kind_throws_the_same_host_exception_in_both_tiers()
    {
        // 0x4c >> 2 = 19 is past the last kind.
        foreach (ulong ccOp in new ulong[] { 0x4c, 0xff, ulong.MaxValue })
            foreach (var c in new[] { Condition.E, Condition.L, Condition.O, Condition.P })
            {
                Check($"CondFromFlags {c} on cc_op {ccOp:x}", IrType.I64, IrType.I64, IrType.I64,
                    (b, d1, d2, nd) => b.CondFromFlags(c, b.Const64(ccOp), d1, d2, nd));
                CheckBranch($"CondFromFlags {c} on cc_op {ccOp:x} -> ExitIf", IrType.I64, IrType.I64,
                    (b, d1, d2) => b.CondFromFlags(c, b.Const64(ccOp), d1, d2, b.Const64(0)));
            }
    }

    // ---- harness ---------------------------------------------------------------------------

    private static IrValue Raw(IrBuilder b, IrOpcode code, IrType type, IrValue a)
    {
        var dst = b.Block.NewTemp(type);
        b.Block.Append(new IrOp { Code = code, Type = type, Dst = dst.Id, A = a.Id, B = IrOp.None, C = IrOp.None, D = IrOp.None });
        return dst;
    }

    /// <summary>Block: inputs from RAX/RBX/RCX truncated to the types, the op, RDX = result; run on <see cref="Inputs"/> inputs.</summary>
    private static void Check(string name, IrType ta, IrType tb, IrType tc, OpBuilder op,
        bool divisionInputs = false, int thunkSize = -1, bool randomCcOp = false)
    {
        var (block, b) = IrTestKit.NewBlock(1);
        var a = b.Trunc(ta, b.GetReg(GuestReg.Rax));
        var x = b.Trunc(tb, b.GetReg(GuestReg.Rbx));
        var c = b.Trunc(tc, b.GetReg(GuestReg.Rcx));
        var r = op(b, a, x, c);
        b.PutReg(GuestReg.Rdx, b.ZExt(IrType.I64, r));
        b.Exit(IrTestKit.RipOf(1));
        Run(name, block, divisionInputs, thunkSize, randomCcOp);
    }

    /// <summary>Block: the condition built from RAX/RBX feeds only an ExitIf, so it compiles as a branch.</summary>
    private static void CheckBranch(string name, IrType ta, IrType tb, Func<IrBuilder, IrValue, IrValue, IrValue> condition, int thunkSize = -1)
    {
        var (block, b) = IrTestKit.NewBlock(2);
        var a = b.Trunc(ta, b.GetReg(GuestReg.Rax));
        var x = b.Trunc(tb, b.GetReg(GuestReg.Rbx));
        b.ExitIf(condition(b, a, x), 0x1234_5678);
        b.Guest = 1;
        b.PutReg(GuestReg.Rdx, b.Const64(0x77));
        b.Exit(IrTestKit.RipOf(2));
        Run(name, block, false, thunkSize, false);
    }

    private static void Run(string name, IrBlock block, bool divisionInputs, int thunkSize, bool randomCcOp)
    {
        IrVerifier.ThrowIfInvalid(block, name);
        var random = new Random(name.GetHashCode(StringComparison.Ordinal) ^ 0x1e7);
        using var twin = TierTwin.Flat(random, (IrTestKit.CodeBase, 0x1000, false));
        for (int i = 0; i < Inputs; i++)
        {
            ulong a = Interesting(random), x = Interesting(random), c = Interesting(random);
            if (divisionInputs && random.Next(3) != 0)
            {
                // Mostly quotients that fit: a small high half and a non-zero divisor.
                a = random.Next(2) == 0 ? 0 : (ulong)random.Next(4);
                c = c == 0 ? 3 : c;
            }
            if (thunkSize >= 0)
            {
                // Thunk operands as the contract (FlagsKind) has them: zero-extended from the
                // operation's width. The JIT compiles conditions on a known cc_op to compares, as the
                // optimiser does; they agree with the calculator on every thunk that obeys the contract.
                ulong mask = ulong.MaxValue >> (64 - (8 << thunkSize));
                a &= mask;
                x &= mask;
            }
            ulong ccOp = randomCcOp ? (uint)(random.Next((int)FlagsKind.Bzhi + 1) << 2 | random.Next(4)) : 0;
            twin.SetState(s =>
            {
                s.Slots.AsSpan().Clear();
                s[GuestReg.Rax] = a;
                s[GuestReg.Rbx] = x;
                s[GuestReg.Rcx] = c;
                s[GuestReg.Rdi] = ccOp;
                s.Rip = IrTestKit.CodeBase;
            });
            twin.Run(block, $"{name} with a={a:x} b={x:x} c={c:x} cc_op={ccOp:x}", compareMemory: false);
        }
    }

    internal static ulong Interesting(Random random) => random.Next(10) switch
    {
        0 => 0,
        1 => ulong.MaxValue,
        2 => 0x8000_0000_0000_0000,
        3 => 0x7fff_ffff_ffff_ffff,
        4 => 0x8000_0000,
        5 => 0x80,
        6 => 0x8000,
        7 => (ulong)random.Next(-5, 5),
        _ => (ulong)random.NextInt64() ^ ((ulong)random.Next() << 40),
    };
}
