using Drk.Dispatcher.IR;
using Drk.Hv.Cpu;
using static Drk.Dispatcher.Tests.Lowering.LoweringTestKit;

namespace Drk.Dispatcher.Tests.Lowering;

/// <summary>The one-iteration-per-block structure of REP string instructions.</summary>
public sealed class StringLoweringTests
{
    [Fact]
    public void RepMovsIsOneIterationThatLoopsBackToItself()
    {
        var block = Lower("f348a5"); // rep movsq
        ulong next = CodeBase + 3;
        var exits = OpsOf(block, IrOpcode.ExitIf);
        Assert.Equal(2, exits.Count);
        // first: RCX == 0 before anything happens; second: RCX became 0
        Assert.All(exits, e => Assert.Equal(next, e.Imm));
        var ops = block.Ops;
        Assert.Equal(IrOpcode.ExitIf, ops[IndexOfFirst(block, IrOpcode.ExitIf)].Code);
        Assert.True(IndexOfFirst(block, IrOpcode.ExitIf) < IndexOfFirst(block, IrOpcode.Load), block.ToString());
        Assert.Equal(IrOpcode.Exit, Last(block).Code);
        Assert.Equal(CodeBase, Last(block).Imm);
        Assert.Equal(IrType.I64, Assert.Single(OpsOf(block, IrOpcode.Load)).Type);
        Assert.Single(OpsOf(block, IrOpcode.Store));
    }

    [Fact]
    public void PlainMovsFallsThroughWithoutExits()
    {
        var block = Lower("a4"); // movsb
        Assert.Empty(OpsOf(block, IrOpcode.ExitIf));
        Assert.Equal(IrOpcode.Exit, Last(block).Code);
        Assert.Equal(CodeBase + 1, Last(block).Imm);
    }

    [Theory]
    [InlineData("f3a6", IrOpcode.CmpNe)] // repe cmpsb: stop on a difference
    [InlineData("f2ae", IrOpcode.CmpEq)] // repne scasb: stop on equality
    public void ConditionalRepeatsStopOnZf(string hex, IrOpcode stopWhen)
    {
        var block = Lower(hex);
        var exits = OpsOf(block, IrOpcode.ExitIf);
        Assert.Equal(3, exits.Count);
        Assert.Equal(stopWhen, Def(block, exits[2].A).Code);
        Assert.Equal(CodeBase, Last(block).Imm);
    }

    [Fact]
    public void AddressSizePrefixUsesEcxEsiEdi()
    {
        var block = Lower("67f3a4"); // rep movsb [edi],[esi]
        foreach (var put in OpsOf(block, IrOpcode.PutReg))
        {
            if (put.Aux is GuestReg.Rcx or GuestReg.Rsi or GuestReg.Rdi)
                Assert.Equal(IrOpcode.ZExt, Def(block, put.A).Code);
        }
    }

    [Fact]
    public void SegmentOverrideAppliesToTheSourceOnly()
    {
        var block = Lower("64a4"); // movsb es:[rdi], fs:[rsi]
        var load = Assert.Single(OpsOf(block, IrOpcode.Load));
        var address = Def(block, load.A);
        Assert.Equal(IrOpcode.Add, address.Code);
        Assert.True(IsGetReg(block, address.B, GuestReg.FsBase), block.ToString());
        var store = Assert.Single(OpsOf(block, IrOpcode.Store));
        Assert.NotEqual(IrOpcode.Add, Def(block, store.A).Code);
    }

    [Fact]
    public void RepWithF2OnMovsActsAsRep()
    {
        var block = Lower("f2a4");
        Assert.Equal(2, OpsOf(block, IrOpcode.ExitIf).Count);
        Assert.Equal(CodeBase, Last(block).Imm);
    }

    private static int IndexOfFirst(IrBlock block, IrOpcode code)
    {
        var ops = block.Ops;
        for (int n = 0; n < ops.Length; n++)
            if (ops[n].Code == code) return n;
        return -1;
    }
}
