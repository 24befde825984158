using Drk.Dispatcher.IR;
using Drk.Dispatcher.Tests.Execution;
using Drk.Hv.Cpu;

namespace Drk.Dispatcher.Tests.IR;

/// <summary>The verifier accepts well-formed blocks and names each kind of violation.</summary>
public sealed class IrVerifierTests
{
    private static IrBlock WellFormed()
    {
        var (block, ir) = IrTestKit.NewBlock(2);
        var x = ir.GetReg(GuestReg.Rax);
        var y = ir.Add(x, ir.Const64(1));
        ir.Guest = 1;
        ir.PutReg(GuestReg.Rax, y);
        ir.ExitIf(ir.Compare(IrOpcode.CmpEq, y, x), 0x1000);
        ir.Exit(0x2000);
        return block;
    }

    private static string SingleError(IrBlock block) => Assert.Single(IrVerifier.Verify(block));

    [Fact]
    public void A_well_formed_block_has_no_errors()
    {
        Assert.Empty(IrVerifier.Verify(WellFormed()));
    }

    [Fact]
    public void A_temp_used_before_it_is_written_is_reported()
    {
        var (block, ir) = IrTestKit.NewBlock();
        var one = ir.Const64(1);
        var sum = ir.Add(one, one);
        var late = ir.Const64(2);
        ir.PutReg(GuestReg.Rax, sum);
        ir.Exit(0);
        block.Ops[1].A = late.Id;  // the Add reads a constant defined after it
        Assert.Contains("used before it is written", SingleError(block));
    }

    [Fact]
    public void A_temp_written_twice_is_reported()
    {
        var block = WellFormed();
        block.Ops[1].Dst = block.Ops[0].Dst;
        var errors = IrVerifier.Verify(block);
        Assert.Contains(errors, e => e.Contains("written twice"));
    }

    [Fact]
    public void Operand_type_mismatches_are_reported()
    {
        var (block, ir) = IrTestKit.NewBlock();
        var wide = ir.Const64(1);
        var narrow = ir.Const(IrType.I32, 1);
        block.Append(new IrOp
        {
            Code = IrOpcode.Add, Type = IrType.I64, Dst = block.NewTemp(IrType.I64).Id,
            A = wide.Id, B = narrow.Id, C = IrOp.None, D = IrOp.None,
        });
        ir.Exit(0);
        Assert.Contains("operand B", SingleError(block));
        Assert.Contains("expected i64", SingleError(block));
    }

    [Fact]
    public void A_shift_count_must_be_i8()
    {
        var (block, ir) = IrTestKit.NewBlock();
        var v = ir.Const64(1);
        block.Append(new IrOp
        {
            Code = IrOpcode.Shl, Type = IrType.I64, Dst = block.NewTemp(IrType.I64).Id,
            A = v.Id, B = v.Id, C = IrOp.None, D = IrOp.None,
        });
        ir.Exit(0);
        Assert.Contains("count", SingleError(block));
    }

    [Fact]
    public void A_result_type_that_differs_from_the_temp_type_is_reported()
    {
        var (block, ir) = IrTestKit.NewBlock();
        var cond = ir.Compare(IrOpcode.CmpEq, ir.Const64(1), ir.Const64(2));
        ir.Exit(0);
        block.Ops[2].Type = IrType.I8;  // the compare claims an I8 result for its I1 temp
        Assert.Contains("op type i8", SingleError(block));
        _ = cond;
    }

    [Fact]
    public void A_block_without_a_terminator_is_reported()
    {
        var (block, ir) = IrTestKit.NewBlock();
        ir.PutReg(GuestReg.Rax, ir.Const64(0));
        Assert.Contains("does not end the block", SingleError(block));
    }

    [Fact]
    public void A_terminator_before_the_end_is_reported()
    {
        var (block, ir) = IrTestKit.NewBlock();
        ir.Exit(1);
        ir.Exit(2);
        Assert.Contains("2 terminators", SingleError(block));
    }

    [Fact]
    public void Guest_indexes_must_be_in_range_and_not_go_backwards()
    {
        var block = WellFormed();
        block.Ops[^1].Guest = 0;  // Exit after ops of instruction 1
        Assert.Contains("must not go backwards", SingleError(block));

        block = WellFormed();
        block.Ops[^1].Guest = 5;
        Assert.Contains("outside the block", SingleError(block));
    }

    [Fact]
    public void Meta_ops_may_name_any_earlier_instruction()
    {
        var (block, ir) = IrTestKit.NewBlock(2);
        ir.Guest = 1;
        var v = ir.GetReg(GuestReg.Rax);
        ir.Guest = 0;
        ir.Meta = true;
        ir.CleanCall(0, v, IrValue.None, IrValue.None, IrValue.None);
        ir.Meta = false;
        ir.Guest = 1;
        ir.Exit(0);
        Assert.Empty(IrVerifier.Verify(block));
    }

    [Fact]
    public void Guest_slots_must_exist_and_rip_is_not_written_by_puts()
    {
        var block = WellFormed();
        block.Ops[0].Aux = GuestReg.Count;
        Assert.Contains("out of range", SingleError(block));

        var (other, ir) = IrTestKit.NewBlock();
        ir.PutReg(GuestReg.Rip, ir.Const64(0));
        ir.Exit(0);
        Assert.Contains("RIP is written only by exits", SingleError(other));
    }

    [Fact]
    public void A_constant_wider_than_its_type_is_reported()
    {
        var (block, ir) = IrTestKit.NewBlock();
        ir.Const(IrType.I8, 1);
        ir.Exit(0);
        block.Ops[0].Imm = 0x100;
        Assert.Contains("does not fit", SingleError(block));
    }

    [Fact]
    public void ThrowIfInvalid_names_the_stage_and_prints_the_block()
    {
        var (block, ir) = IrTestKit.NewBlock();
        ir.PutReg(GuestReg.Rax, ir.Const64(0));
        var e = Assert.Throws<InvalidOperationException>(() => IrVerifier.ThrowIfInvalid(block, "unit test"));
        Assert.Contains("after unit test", e.Message);
        Assert.Contains("PutReg rax", e.Message);
    }
}
