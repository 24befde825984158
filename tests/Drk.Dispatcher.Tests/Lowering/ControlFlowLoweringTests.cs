using Drk.Dispatcher.Flags;
using Drk.Dispatcher.IR;
using Drk.Hv.Cpu;
using static Drk.Dispatcher.Tests.Lowering.LoweringTestKit;

namespace Drk.Dispatcher.Tests.Lowering;

/// <summary>The exits control-flow instructions end their blocks with.</summary>
public sealed class ControlFlowLoweringTests
{
    [Fact]
    public void JmpRelExitsToTarget()
    {
        var block = Lower("eb10"); // jmp +0x10
        Assert.Equal(IrOpcode.Exit, Last(block).Code);
        Assert.Equal(CodeBase + 2 + 0x10, Last(block).Imm);
    }

    [Fact]
    public void JccTakesSideExitThenFallsThrough()
    {
        var block = Lower("0f84f0ffffff"); // je -0x10
        var exits = OpsOf(block, IrOpcode.ExitIf);
        var exitIf = Assert.Single(exits);
        Assert.Equal(CodeBase + 6 - 0x10, exitIf.Imm);
        var cond = Def(block, exitIf.A);
        Assert.Equal(IrOpcode.CondFromFlags, cond.Code);
        Assert.Equal((byte)Condition.E, cond.Aux);
        Assert.Equal(IrOpcode.Exit, Last(block).Code);
        Assert.Equal(CodeBase + 6, Last(block).Imm);
    }

    [Theory]
    [InlineData("ffe0", IndirectKind.Jump)] // jmp rax
    [InlineData("ff6008", IndirectKind.Jump)] // jmp [rax+8]
    [InlineData("ffd0", IndirectKind.Call)] // call rax
    [InlineData("ff1510000000", IndirectKind.Call)] // call [rip+0x10]
    [InlineData("c3", IndirectKind.Return)] // ret
    [InlineData("c21000", IndirectKind.Return)] // ret 0x10
    public void IndirectTransfersExitWithTheirKind(string hex, IndirectKind kind)
    {
        var last = Last(Lower(hex));
        Assert.Equal(IrOpcode.ExitIndirect, last.Code);
        Assert.Equal((byte)kind, last.Aux);
    }

    [Fact]
    public void CallRelStoresReturnAddressBeforeMovingRsp()
    {
        var block = Lower("e800010000"); // call +0x100
        var store = Assert.Single(OpsOf(block, IrOpcode.Store));
        Assert.Equal(CodeBase + 5, ConstOf(block, store.B));
        int storeAt = IndexOf(block, IrOpcode.Store), putAt = IndexOf(block, IrOpcode.PutReg);
        Assert.True(storeAt < putAt, block.ToString());
        Assert.Equal(GuestReg.Rsp, Assert.Single(OpsOf(block, IrOpcode.PutReg)).Aux);
        Assert.Equal(CodeBase + 5 + 0x100, Last(block).Imm);
    }

    [Fact]
    public void CallThroughMemoryLoadsTargetBeforePushing()
    {
        var block = Lower("ff1510000000"); // call [rip+0x10]
        var load = Assert.Single(OpsOf(block, IrOpcode.Load));
        Assert.Equal(CodeBase + 6 + 0x10, ConstOf(block, load.A));
        Assert.True(IndexOf(block, IrOpcode.Load) < IndexOf(block, IrOpcode.Store), block.ToString());
        Assert.Equal(load.Dst, Last(block).A);
    }

    [Fact]
    public void RetImmediateReleasesItsBytes()
    {
        var block = Lower("c21800"); // ret 0x18
        var put = Assert.Single(OpsOf(block, IrOpcode.PutReg));
        var add = Def(block, put.A);
        Assert.Equal(IrOpcode.Add, add.Code);
        Assert.Equal(0x18UL, ConstOf(block, add.B));
    }

    [Fact]
    public void LoopWithAddressSizePrefixCountsInEcx()
    {
        var block = Lower("67e2fd"); // loopd $
        var put = Assert.Single(OpsOf(block, IrOpcode.PutReg));
        Assert.Equal(GuestReg.Rcx, put.Aux);
        // the decremented ECX is zero-extended into RCX
        Assert.Equal(IrOpcode.ZExt, Def(block, put.A).Code);
        Assert.Equal(CodeBase, Assert.Single(OpsOf(block, IrOpcode.ExitIf)).Imm);
    }

    [Fact]
    public void LoopeBranchesOnlyWhileTheCounterLastsAndZfIsSet()
    {
        var block = Lower("e1fe"); // loope $
        var exitIf = Assert.Single(OpsOf(block, IrOpcode.ExitIf));
        Assert.Equal(CodeBase, exitIf.Imm);
        var taken = Def(block, exitIf.A);
        Assert.Equal(IrOpcode.Select, taken.Code);
        Assert.Equal(IrOpcode.CmpNe, Def(block, taken.A).Code);
        Assert.Equal((byte)Condition.E, Def(block, taken.B).Aux);
        Assert.Equal(CodeBase + 2, Last(block).Imm);
        Assert.Empty(OpsOf(block, IrOpcode.PutReg).FindAll(p => p.Aux >= GuestReg.CcOp && p.Aux <= GuestReg.CcNdep));
    }

    [Theory]
    [InlineData("ffe3")] // jmp rbx
    [InlineData("ffd3")] // call rbx
    [InlineData("ff13")] // call [rbx]
    [InlineData("c3")] // ret
    public void IndirectTargetsAreCheckedForCanonicalFormBeforeAnyStateChange(string hex)
    {
        var block = Lower(hex);
        var ops = block.Ops;
        int check = -1;
        for (int n = 0; n < ops.Length; n++)
        {
            if (ops[n].Code == IrOpcode.RaiseIf) check = n;
            if (ops[n].Code is IrOpcode.PutReg or IrOpcode.Store)
                Assert.True(check >= 0 && check < n, $"state change before the check:\n{block}");
        }
        Assert.True(check >= 0, block.ToString());
        Assert.Equal((byte)ExceptionVector.GeneralProtection, ops[check].Aux);
    }

    [Fact]
    public void DirectBranchToANonCanonicalTargetRaisesGp()
    {
        // jmp rel32 from just below the canonical hole lands in it
        var block = Lower("e900100000", rip: 0x7fff_ffff_f000);
        Assert.Equal(IrOpcode.Raise, Last(block).Code);
        Assert.Equal((byte)ExceptionVector.GeneralProtection, Last(block).Aux);
    }

    [Fact]
    public void JrcxzTestsTheFullRegister()
    {
        var block = Lower("e3fe");
        var exitIf = Assert.Single(OpsOf(block, IrOpcode.ExitIf));
        var cmp = Def(block, exitIf.A);
        Assert.Equal(IrOpcode.CmpEq, cmp.Code);
        Assert.Equal(IrType.I64, block.TypeOf(cmp.A));
    }

    [Fact]
    public void SoftwareInterruptsCarryVectorAndReturnAddress()
    {
        var int80 = Last(Lower("cd80"));
        Assert.Equal(IrOpcode.SoftInt, int80.Code);
        Assert.Equal(0x80, int80.Aux);
        Assert.Equal(CodeBase + 2, int80.Imm);
        var int3 = Last(Lower("cc"));
        Assert.Equal(IrOpcode.SoftInt, int3.Code);
        Assert.Equal(3, int3.Aux);
        Assert.Equal(CodeBase + 1, int3.Imm);
    }

    [Fact]
    public void Ud2RaisesInvalidOpcode()
    {
        var block = Lower("0f0b");
        Assert.Equal(IrOpcode.Raise, Last(block).Code);
        Assert.Equal((byte)ExceptionVector.InvalidOpcode, Last(block).Aux);
    }

    [Fact]
    public void BranchEndsTheBlockAndLaterInstructionsAreNotLowered()
    {
        var block = Lower("ebfe90"); // jmp $; nop
        Assert.Single(OpsOf(block, IrOpcode.Exit));
        foreach (var op in block.Ops) Assert.Equal(0, op.Guest);
    }

    private static int IndexOf(IrBlock block, IrOpcode code)
    {
        var ops = block.Ops;
        for (int n = 0; n < ops.Length; n++)
            if (ops[n].Code == code) return n;
        return -1;
    }
}
