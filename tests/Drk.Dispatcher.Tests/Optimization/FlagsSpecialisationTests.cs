using Drk.Dispatcher.Execution;
using Drk.Dispatcher.Flags;
using Drk.Dispatcher.IR;
using Drk.Dispatcher.Optimization;
using Drk.Dispatcher.Tests.Execution;
using Drk.Hv.Cpu;
using Drk.Hv.Memory;

namespace Drk.Dispatcher.Tests.Optimization;

/// <summary>
/// The specialised comparisons agree with <see cref="FlagsCalculator"/> for every thunk kind the
/// pass knows, every condition and every operand size, on edge and random operands.
/// </summary>
public sealed class FlagsSpecialisationTests
{
    private static readonly FlagsKind[] Kinds =
        [FlagsKind.Copy, FlagsKind.Add, FlagsKind.Sub, FlagsKind.Logic, FlagsKind.Inc, FlagsKind.Dec, FlagsKind.Shl, FlagsKind.Shr, FlagsKind.Sar];

    public static TheoryData<FlagsKind, int> KindsAndSizes()
    {
        var data = new TheoryData<FlagsKind, int>();
        foreach (var kind in Kinds)
            foreach (int bytes in new[] { 1, 2, 4, 8 })
                data.Add(kind, bytes);
        return data;
    }

    [Theory]
    [MemberData(nameof(KindsAndSizes))]
    public void Specialised_conditions_match_the_flags_calculator(FlagsKind kind, int bytes)
    {
        const int seed = 20261122;
        var random = new Random(seed ^ ((int)kind << 8) ^ bytes);
        ulong ccOp = FlagsOps.Make(kind, bytes);
        ulong mask = bytes == 8 ? ulong.MaxValue : (1UL << (8 * bytes)) - 1;
        ulong sign = 1UL << (8 * bytes - 1);
        ulong[] edges = [0, 1, 2, mask, mask - 1, sign, sign - 1, sign + 1, 0x55 & mask, 0xaa & mask];

        // One block per condition, dep1/dep2/ndep read from registers so only cc_op is constant.
        var specialised = new IrBlock[16];
        var general = new IrBlock[16];
        for (int c = 0; c < 16; c++)
        {
            general[c] = ConditionBlock(ccOp, (Condition)c);
            specialised[c] = ConditionBlock(ccOp, (Condition)c);
            new FlagsSpecialisation().Run(specialised[c]);
            IrVerifier.ThrowIfInvalid(specialised[c], "specialise-flags");
        }
        var interpreter = new IrInterpreter(new FlatMemory());
        var state = new VcpuState();
        for (int i = 0; i < 400; i++)
        {
            ulong dep1 = (i < edges.Length * edges.Length ? edges[i % edges.Length] : (ulong)random.NextInt64()) & mask;
            ulong dep2 = (i < edges.Length * edges.Length ? edges[i / edges.Length] : (ulong)random.NextInt64()) & mask;
            if (kind == FlagsKind.Copy) dep1 = (ulong)random.NextInt64() & Drk.Hv.Cpu.Rflags.Arithmetic;
            ulong ndep = (ulong)random.NextInt64() & Drk.Hv.Cpu.Rflags.Arithmetic;
            for (int c = 0; c < 16; c++)
            {
                bool expected = FlagsCalculator.Evaluate((Condition)c, ccOp, dep1, dep2, ndep);
                Assert.Equal(expected, Evaluate(interpreter, state, general[c], dep1, dep2, ndep));
                bool actual = Evaluate(interpreter, state, specialised[c], dep1, dep2, ndep);
                Assert.True(expected == actual,
                    $"{kind}/{bytes * 8} {(Condition)c} dep1={dep1:x} dep2={dep2:x} ndep={ndep:x} (seed {seed}): expected {expected}\n{specialised[c]}");
            }
        }
    }

    [Fact]
    public void The_pass_replaces_the_conditions_compilers_branch_on()
    {
        foreach (var (kind, cond) in new[]
        {
            (FlagsKind.Sub, Condition.E), (FlagsKind.Sub, Condition.L), (FlagsKind.Sub, Condition.A),
            (FlagsKind.Sub, Condition.S), (FlagsKind.Logic, Condition.E), (FlagsKind.Logic, Condition.LE),
            (FlagsKind.Add, Condition.B), (FlagsKind.Dec, Condition.NE), (FlagsKind.Copy, Condition.AE),
            (FlagsKind.Shr, Condition.NE), (FlagsKind.Shl, Condition.B), (FlagsKind.Sar, Condition.S),
        })
        {
            var block = ConditionBlock(FlagsOps.Make(kind, 4), cond);
            new FlagsSpecialisation().Run(block);
            Assert.DoesNotContain(block.Ops.ToArray(), o => o.Code == IrOpcode.CondFromFlags);
        }
    }

    private static IrBlock ConditionBlock(ulong ccOp, Condition cond)
    {
        var (block, ir) = IrTestKit.NewBlock();
        var c = ir.CondFromFlags(cond, ir.Const64(ccOp), ir.GetReg(GuestReg.Rax), ir.GetReg(GuestReg.Rbx), ir.GetReg(GuestReg.Rcx));
        ir.PutReg(GuestReg.Rdx, ir.ZExt(IrType.I64, c));
        ir.Exit(0);
        return block;
    }

    private static bool Evaluate(IrInterpreter interpreter, VcpuState state, IrBlock block, ulong dep1, ulong dep2, ulong ndep)
    {
        state[GuestReg.Rax] = dep1;
        state[GuestReg.Rbx] = dep2;
        state[GuestReg.Rcx] = ndep;
        state[GuestReg.Rdx] = 2;
        interpreter.Execute(block, state);
        Assert.True(state[GuestReg.Rdx] <= 1);
        return state[GuestReg.Rdx] == 1;
    }
}
