using Drk.Dispatcher.IR;
using Drk.Hv.Cpu;
using static Drk.Dispatcher.Tests.Lowering.LoweringTestKit;

namespace Drk.Dispatcher.Tests.Lowering;

/// <summary>System instructions become System ops with the documented operands and end the block where they must.</summary>
public sealed class SystemLoweringTests
{
    [Theory]
    [InlineData("0fa2", SystemOp.Cpuid, false)]
    [InlineData("0f31", SystemOp.Rdtsc, false)]
    [InlineData("0f01f9", SystemOp.Rdtscp, false)]
    [InlineData("0f32", SystemOp.Rdmsr, false)]
    [InlineData("0f30", SystemOp.Wrmsr, true)]
    [InlineData("fa", SystemOp.Cli, true)]
    [InlineData("fb", SystemOp.Sti, true)]
    [InlineData("f4", SystemOp.Hlt, true)]
    [InlineData("0f01f8", SystemOp.Swapgs, true)]
    [InlineData("0f09", SystemOp.Wbinvd, true)]
    [InlineData("0f013f", SystemOp.Invlpg, true)]
    [InlineData("0fae3f", SystemOp.Clflush, true)]
    [InlineData("0f0117", SystemOp.Lgdt, true)]
    [InlineData("0f011f", SystemOp.Lidt, true)]
    [InlineData("0f0107", SystemOp.Sgdt, false)]
    [InlineData("0f010f", SystemOp.Sidt, false)]
    [InlineData("0f22d8", SystemOp.WriteCr, true)]
    [InlineData("0f20c0", SystemOp.ReadCr, false)]
    [InlineData("e680", SystemOp.Out, true)]
    [InlineData("e460", SystemOp.In, false)]
    public void SystemOpAndWhetherTheBlockEnds(string hex, SystemOp op, bool endsBlock)
    {
        // followed by a NOP: a block that goes on lowers it too
        var block = Lower(hex + "90");
        var system = Assert.Single(OpsOf(block, IrOpcode.System));
        Assert.Equal((byte)op, system.Aux);
        int length = hex.Length / 2;
        var last = Last(block);
        Assert.Equal(IrOpcode.Exit, last.Code);
        Assert.Equal(endsBlock ? CodeBase + (ulong)length : CodeBase + (ulong)length + 1, last.Imm);
    }

    [Theory]
    [InlineData("48cf", SystemOp.Iretq)]
    [InlineData("0f05", SystemOp.Syscall)]
    [InlineData("480f07", SystemOp.Sysretq)]
    public void ControlTransfersLeaveThroughTheRipTheHelperSet(string hex, SystemOp op)
    {
        var block = Lower(hex);
        var system = Assert.Single(OpsOf(block, IrOpcode.System));
        Assert.Equal((byte)op, system.Aux);
        var last = Last(block);
        Assert.Equal(IrOpcode.ExitIndirect, last.Code);
        Assert.Equal((byte)IndirectKind.System, last.Aux);
        Assert.True(IsGetReg(block, last.A, GuestReg.Rip));
    }

    [Fact]
    public void SyscallPassesTheReturnAddress()
    {
        var block = Lower("0f05");
        Assert.Equal(CodeBase + 2, ConstOf(block, Assert.Single(OpsOf(block, IrOpcode.System)).A));
    }

    [Fact]
    public void MovToCr3PassesNumberAndValue()
    {
        var block = Lower("0f22d8"); // mov cr3, rax
        var system = Assert.Single(OpsOf(block, IrOpcode.System));
        Assert.Equal(3UL, ConstOf(block, system.A));
        Assert.True(IsGetReg(block, system.B, GuestReg.Rax));
    }

    [Fact]
    public void MovFromCr8WritesTheFullRegister()
    {
        var block = Lower("440f20c1"); // mov rcx, cr8
        var system = Assert.Single(OpsOf(block, IrOpcode.System));
        Assert.Equal(8UL, ConstOf(block, system.A));
        var put = Assert.Single(OpsOf(block, IrOpcode.PutReg));
        Assert.Equal(GuestReg.Rcx, put.Aux);
        Assert.Equal(system.Dst, put.A);
    }

    [Fact]
    public void InFromDxPassesPortAndSizeAndMergesIntoAx()
    {
        var block = Lower("66ed"); // in ax, dx
        var system = Assert.Single(OpsOf(block, IrOpcode.System));
        Assert.Equal(2UL, ConstOf(block, system.B));
        var put = Assert.Single(OpsOf(block, IrOpcode.PutReg));
        Assert.Equal(GuestReg.Rax, put.Aux);
        Assert.Equal(IrOpcode.Or, Def(block, put.A).Code); // merged, not replaced
    }

    [Fact]
    public void OutImmediatePassesPortAndSize()
    {
        var block = Lower("e7f4"); // out 0xf4, eax
        var system = Assert.Single(OpsOf(block, IrOpcode.System));
        Assert.Equal(0xf4UL, ConstOf(block, system.A));
        Assert.Equal(4UL, ConstOf(block, system.B));
    }

    [Fact]
    public void MovToSegmentPassesIndexAndSelector()
    {
        var block = Lower("8e27"); // mov fs, [rdi]
        var system = Assert.Single(OpsOf(block, IrOpcode.System));
        Assert.Equal((byte)SystemOp.WriteSegment, system.Aux);
        Assert.Equal(4UL, ConstOf(block, system.A));
        var selector = Def(block, system.B);
        Assert.Equal(IrOpcode.ZExt, selector.Code);
        Assert.Equal(IrOpcode.Load, Def(block, selector.A).Code);
    }

    [Fact]
    public void LgdtPassesTheLinearAddress()
    {
        var block = Lower("650f0117"); // lgdt gs:[rdi]
        var system = Assert.Single(OpsOf(block, IrOpcode.System));
        var address = Def(block, system.A);
        Assert.Equal(IrOpcode.Add, address.Code);
        Assert.True(IsGetReg(block, address.B, GuestReg.GsBase));
        Assert.Empty(OpsOf(block, IrOpcode.Load));
    }

    [Fact]
    public void WrgsbaseSelectsGs()
    {
        var block = Lower("f30faede"); // wrgsbase esi
        var system = Assert.Single(OpsOf(block, IrOpcode.System));
        Assert.Equal((byte)SystemOp.WriteSegBase, system.Aux);
        Assert.Equal(1UL, ConstOf(block, system.A));
    }

    [Fact]
    public void PopFsCommitsRspOnlyAfterTheSegmentLoad()
    {
        var block = Lower("0fa1"); // pop fs
        var ops = block.Ops;
        int system = -1, put = -1;
        for (int n = 0; n < ops.Length; n++)
        {
            if (ops[n].Code == IrOpcode.System) system = n;
            if (ops[n].Code == IrOpcode.PutReg && ops[n].Aux == GuestReg.Rsp) put = n;
        }
        Assert.True(system >= 0 && put > system, block.ToString());
    }
}
