using Drk.Dispatcher.Flags;
using Drk.Dispatcher.IR;
using Drk.Dispatcher.Optimization;
using Drk.Dispatcher.Tests.Execution;
using Drk.Hv.Cpu;

namespace Drk.Dispatcher.Tests.Optimization;

/// <summary>Each pass on small hand-built blocks: what it removes or rewrites, and what it must keep.</summary>
public sealed class OptimizationPassTests
{
    private static int CountOf(IrBlock block, IrOpcode code)
    {
        int n = 0;
        foreach (var op in block.Ops)
            if (op.Code == code) n++;
        return n;
    }

    private static void Run(IIrPass pass, IrBlock block)
    {
        pass.Run(block);
        IrVerifier.ThrowIfInvalid(block, pass.Name);
        block.Compact();
    }

    [Fact]
    public void Forwarding_replaces_a_get_after_a_put_by_the_put_value()
    {
        var (block, ir) = IrTestKit.NewBlock();
        var v = ir.Add(ir.GetReg(GuestReg.Rbx), ir.Const64(1));
        ir.PutReg(GuestReg.Rax, v);
        var again = ir.GetReg(GuestReg.Rax);
        ir.PutReg(GuestReg.Rcx, again);
        ir.Exit(0);
        Run(new RegisterForwarding(), block);
        Assert.Equal(1, CountOf(block, IrOpcode.GetReg));
        Assert.Equal(v.Id, block.Ops[^2].A);
    }

    [Fact]
    public void Forwarding_reuses_an_earlier_get_of_the_same_slot()
    {
        var (block, ir) = IrTestKit.NewBlock();
        var a = ir.GetReg(GuestReg.Rbx);
        var b = ir.GetReg(GuestReg.Rbx);
        ir.PutReg(GuestReg.Rax, ir.Add(a, b));
        ir.Exit(0);
        Run(new RegisterForwarding(), block);
        Assert.Equal(1, CountOf(block, IrOpcode.GetReg));
    }

    [Fact]
    public void Forwarding_forgets_everything_at_a_system_op()
    {
        var (block, ir) = IrTestKit.NewBlock();
        ir.PutReg(GuestReg.Rax, ir.Const64(1));
        ir.System(SystemOp.Cpuid, IrValue.None, IrValue.None);
        ir.PutReg(GuestReg.Rcx, ir.GetReg(GuestReg.Rax));
        ir.Exit(0);
        Run(new RegisterForwarding(), block);
        Assert.Equal(1, CountOf(block, IrOpcode.GetReg));
    }

    [Fact]
    public void A_put_overwritten_with_nothing_in_between_is_dead()
    {
        var (block, ir) = IrTestKit.NewBlock();
        ir.PutReg(GuestReg.CcOp, ir.Const64(1));
        ir.PutReg(GuestReg.Rax, ir.Const64(2));
        ir.PutReg(GuestReg.CcOp, ir.Const64(3));
        ir.Exit(0);
        Run(new DeadPutElimination(), block);
        Assert.Equal(2, CountOf(block, IrOpcode.PutReg));
        Assert.Equal(GuestReg.Rax, block.Ops[2].Aux);
    }

    [Fact]
    public void A_put_read_before_it_is_overwritten_stays()
    {
        var (block, ir) = IrTestKit.NewBlock();
        ir.PutReg(GuestReg.Rax, ir.Const64(1));
        var read = ir.GetReg(GuestReg.Rax);
        ir.PutReg(GuestReg.Rax, ir.Add(read, read));
        ir.Exit(0);
        Run(new DeadPutElimination(), block);
        Assert.Equal(2, CountOf(block, IrOpcode.PutReg));
    }

    [Theory]
    [InlineData(IrOpcode.Load)]
    [InlineData(IrOpcode.Store)]
    [InlineData(IrOpcode.DivU)]
    [InlineData(IrOpcode.ExitIf)]
    [InlineData(IrOpcode.System)]
    public void A_put_followed_by_an_op_that_may_fault_or_exit_stays(IrOpcode between)
    {
        var (block, ir) = IrTestKit.NewBlock();
        ir.PutReg(GuestReg.Rax, ir.Const64(1));
        var addr = ir.Const64(0x1000);
        switch (between)
        {
            case IrOpcode.Load: ir.Load(IrType.I8, addr); break;
            case IrOpcode.Store: ir.Store(addr, addr); break;
            case IrOpcode.DivU: ir.Divide(IrOpcode.DivU, addr, addr, addr); break;
            case IrOpcode.ExitIf: ir.ExitIf(ir.Const(IrType.I1, 0), 0x1234); break;
            case IrOpcode.System: ir.System(SystemOp.Rdtsc, IrValue.None, IrValue.None); break;
        }
        ir.PutReg(GuestReg.Rax, ir.Const64(2));
        ir.Exit(0);
        Run(new DeadPutElimination(), block);
        Assert.Equal(2, CountOf(block, IrOpcode.PutReg));
    }

    [Fact]
    public void Folding_computes_constant_expressions()
    {
        var (block, ir) = IrTestKit.NewBlock();
        var sum = ir.Add(ir.Const(IrType.I32, 0xffff_fff0), ir.Const(IrType.I32, 0x20));
        ir.PutReg(GuestReg.Rax, ir.ZExt(IrType.I64, sum));
        ir.Exit(0);
        Run(new ConstantFolding(), block);
        Run(new DeadTempElimination(), block);
        Assert.Equal(IrOpcode.Const, block.Ops[0].Code);
        Assert.Equal(0x10UL, block.Ops[0].Imm);
        Assert.Equal(IrType.I64, block.Ops[0].Type);
        Assert.Equal(3, block.Count);
    }

    [Fact]
    public void Folding_applies_identities()
    {
        var (block, ir) = IrTestKit.NewBlock();
        var x = ir.GetReg(GuestReg.Rbx);
        var y = ir.Or(ir.Add(x, ir.Const64(0)), ir.Const64(0));
        var zero = ir.Xor(x, x);
        ir.PutReg(GuestReg.Rax, y);
        ir.PutReg(GuestReg.Rcx, zero);
        ir.Exit(0);
        Run(new ConstantFolding(), block);
        Run(new DeadTempElimination(), block);
        var puts = block.Ops.ToArray().Where(o => o.Code == IrOpcode.PutReg).ToArray();
        Assert.Equal(x.Id, puts[0].A);
        Assert.Equal(IrOpcode.Const, block.Ops.ToArray().Single(o => o.Dst == puts[1].A).Code);
    }

    [Fact]
    public void Folding_removes_conversions_that_undo_each_other()
    {
        var (block, ir) = IrTestKit.NewBlock();
        var x = ir.Trunc(IrType.I32, ir.GetReg(GuestReg.Rbx));
        var back = ir.Trunc(IrType.I32, ir.ZExt(IrType.I64, x));       // = x
        var low = ir.Trunc(IrType.I8, ir.Trunc(IrType.I16, ir.GetReg(GuestReg.Rcx)));  // one Trunc
        ir.PutReg(GuestReg.Rax, ir.ZExt(IrType.I64, ir.Add(back, x)));
        ir.PutReg(GuestReg.Rdx, ir.ZExt(IrType.I64, low));
        ir.Exit(0);
        Run(new ConstantFolding(), block);
        Run(new DeadTempElimination(), block);
        var add = block.Ops.ToArray().Single(o => o.Code == IrOpcode.Add);
        Assert.Equal(x.Id, add.A);
        Assert.Equal(x.Id, add.B);
        Assert.Equal(2, CountOf(block, IrOpcode.Trunc));
    }

    [Fact]
    public void Common_subexpressions_are_computed_once()
    {
        var (block, ir) = IrTestKit.NewBlock();
        var r = ir.GetReg(GuestReg.Rdi);
        var a1 = ir.Add(r, ir.Const64(8));
        var a2 = ir.Add(ir.Const64(8), r);                               // commuted
        ir.PutReg(GuestReg.Rax, ir.Xor(a1, a2));
        ir.Exit(0);
        Run(new CommonSubexpressionElimination(), block);
        Assert.Equal(1, CountOf(block, IrOpcode.Const));
        Assert.Equal(1, CountOf(block, IrOpcode.Add));
        var xor = block.Ops.ToArray().Single(o => o.Code == IrOpcode.Xor);
        Assert.Equal(xor.A, xor.B);
    }

    [Fact]
    public void Folding_keeps_a_division_that_raises()
    {
        var (block, ir) = IrTestKit.NewBlock();
        var q = ir.Divide(IrOpcode.DivU, ir.Const64(0), ir.Const64(7), ir.Const64(0));
        ir.PutReg(GuestReg.Rax, q);
        ir.Exit(0);
        Run(new ConstantFolding(), block);
        Assert.Equal(1, CountOf(block, IrOpcode.DivU));
    }

    [Fact]
    public void Folding_resolves_constant_side_exits()
    {
        var (never, ir) = IrTestKit.NewBlock();
        ir.ExitIf(ir.Const(IrType.I1, 0), 0x1111);
        ir.Exit(0x2222);
        Run(new ConstantFolding(), never);
        Assert.Equal(0, CountOf(never, IrOpcode.ExitIf));

        var (always, ir2) = IrTestKit.NewBlock();
        ir2.ExitIf(ir2.Const(IrType.I1, 1), 0x1111);
        ir2.PutReg(GuestReg.Rax, ir2.Const64(3));
        ir2.Exit(0x2222);
        Run(new ConstantFolding(), always);
        Assert.Equal(IrOpcode.Exit, always.Ops[^1].Code);
        Assert.Equal(0x1111UL, always.Ops[^1].Imm);
        Assert.Equal(0, CountOf(always, IrOpcode.PutReg));
    }

    [Fact]
    public void Folding_resolves_constant_conditional_raises()
    {
        var (never, ir) = IrTestKit.NewBlock();
        ir.RaiseIf(ir.Const(IrType.I1, 0), ExceptionVector.GeneralProtection, 0);
        ir.Exit(0x2222);
        Run(new ConstantFolding(), never);
        Assert.Equal(0, CountOf(never, IrOpcode.RaiseIf));
        Assert.Equal(IrOpcode.Exit, never.Ops[^1].Code);

        var (always, ir2) = IrTestKit.NewBlock();
        ir2.RaiseIf(ir2.Const(IrType.I1, 1), ExceptionVector.GeneralProtection, 0);
        ir2.PutReg(GuestReg.Rax, ir2.Const64(3));
        ir2.Exit(0x2222);
        Run(new ConstantFolding(), always);
        Assert.Equal(IrOpcode.Raise, always.Ops[^1].Code);
        Assert.Equal((byte)ExceptionVector.GeneralProtection, always.Ops[^1].Aux);
        Assert.Equal((1UL << 32) | 0, always.Ops[^1].Imm);
        Assert.Equal(0, CountOf(always, IrOpcode.PutReg));
    }

    [Fact]
    public void A_put_before_a_conditional_raise_stays()
    {
        var (block, ir) = IrTestKit.NewBlock();
        ir.PutReg(GuestReg.Rax, ir.Const64(1));
        ir.RaiseIf(ir.Compare(IrOpcode.CmpEq, ir.GetReg(GuestReg.Rbx), ir.Const64(0)), ExceptionVector.GeneralProtection, 0);
        ir.PutReg(GuestReg.Rax, ir.Const64(2));
        ir.Exit(0);
        Run(new DeadPutElimination(), block);
        Assert.Equal(2, CountOf(block, IrOpcode.PutReg));
    }

    [Fact]
    public void A_compare_and_branch_on_a_known_thunk_becomes_a_plain_compare()
    {
        // cmp eax, ebx ; jl: the thunk is Sub/32, the condition L.
        var (block, ir) = IrTestKit.NewBlock();
        var a = ir.GetReg(GuestReg.Rax);
        var b = ir.GetReg(GuestReg.Rbx);
        var op = ir.Const64(FlagsOps.Make(FlagsKind.Sub, 4));
        var zero = ir.Const64(0);
        var cond = ir.CondFromFlags(Condition.L, op, a, b, zero);
        ir.ExitIf(cond, 0x1000);
        ir.Exit(0x2000);
        Run(new FlagsSpecialisation(), block);
        Run(new DeadTempElimination(), block);
        Assert.Equal(0, CountOf(block, IrOpcode.CondFromFlags));
        var compare = block.Ops.ToArray().Single(o => o.Dst == cond.Id);
        Assert.Equal(IrOpcode.CmpLtS, compare.Code);
        Assert.Equal(IrType.I32, block.TypeOf(compare.A));
    }

    [Fact]
    public void A_thunk_whose_kind_is_unknown_is_left_alone()
    {
        var (block, ir) = IrTestKit.NewBlock();
        var cond = ir.CondFromFlags(Condition.E, ir.GetReg(GuestReg.CcOp), ir.GetReg(GuestReg.CcDep1),
            ir.GetReg(GuestReg.CcDep2), ir.GetReg(GuestReg.CcNdep));
        ir.ExitIf(cond, 0x1000);
        ir.Exit(0x2000);
        Run(new FlagsSpecialisation(), block);
        Assert.Equal(1, CountOf(block, IrOpcode.CondFromFlags));
    }

    [Fact]
    public void Dead_temp_elimination_keeps_ops_with_effects()
    {
        var (block, ir) = IrTestKit.NewBlock();
        ir.Add(ir.Const64(1), ir.Const64(2));                  // unused, pure
        ir.Load(IrType.I32, ir.Const64(0x1000));               // unused, but may fault
        ir.Divide(IrOpcode.DivS, ir.Const64(0), ir.Const64(1), ir.GetReg(GuestReg.Rcx));  // unused, may raise #DE
        ir.Exit(0);
        Run(new DeadTempElimination(), block);
        Assert.Equal(0, CountOf(block, IrOpcode.Add));
        Assert.Equal(1, CountOf(block, IrOpcode.Load));
        Assert.Equal(1, CountOf(block, IrOpcode.DivS));
        Assert.Equal(1, CountOf(block, IrOpcode.GetReg));
    }

    [Fact]
    public void The_optimizer_is_deterministic()
    {
        static IrBlock Build()
        {
            var (block, ir) = IrTestKit.NewBlock(2);
            var a = ir.GetReg(GuestReg.Rax);
            ir.PutReg(GuestReg.CcOp, ir.Const64(FlagsOps.Make(FlagsKind.Sub, 8)));
            ir.PutReg(GuestReg.CcDep1, a);
            ir.PutReg(GuestReg.CcDep2, ir.Const64(5));
            ir.PutReg(GuestReg.CcNdep, ir.Const64(0));
            ir.Guest = 1;
            var cond = ir.CondFromFlags(Condition.NE, ir.GetReg(GuestReg.CcOp), ir.GetReg(GuestReg.CcDep1),
                ir.GetReg(GuestReg.CcDep2), ir.GetReg(GuestReg.CcNdep));
            ir.ExitIf(cond, 0x1000);
            ir.Exit(0x2000);
            return block;
        }
        var first = Build();
        var second = Build();
        new Optimizer { VerifyEachPass = true }.Optimize(first);
        new Optimizer { VerifyEachPass = true }.Optimize(second);
        Assert.Equal(IrPrinter.Format(first), IrPrinter.Format(second));
        Assert.Equal(0, CountOf(first, IrOpcode.CondFromFlags));
        Assert.Equal(0, CountOf(first, IrOpcode.GetReg) - 1);
    }
}
