using Drk.Dispatcher.IR;
using Drk.Hv.Cpu;
using static Drk.Dispatcher.Tests.Lowering.LoweringTestKit;

namespace Drk.Dispatcher.Tests.Lowering;

/// <summary>IR shapes of data-movement and stack instructions where the shape itself is the point.</summary>
public sealed class DataMovementLoweringTests
{
    [Theory]
    [InlineData("90")]
    [InlineData("0f1f440000")]
    [InlineData("660f1f840000000000")]
    [InlineData("f390")]
    [InlineData("f30f1efa")]
    [InlineData("0faee8")]
    [InlineData("0faef0")]
    [InlineData("0faef8")]
    [InlineData("0f1807")] // prefetchnta [rdi]
    public void NopsAndFencesEmitNothing(string hex)
    {
        var block = Lower(hex);
        Assert.Equal(1, block.Count);
        Assert.Equal(IrOpcode.Exit, Last(block).Code);
    }

    [Fact]
    public void LeaIgnoresSegmentOverride()
    {
        var block = Lower("64488d03"); // lea rax, fs:[rbx]
        foreach (var op in block.Ops)
            Assert.False(op.Code == IrOpcode.GetReg && op.Aux == GuestReg.FsBase, block.ToString());
        Assert.Empty(OpsOf(block, IrOpcode.Load));
    }

    [Fact]
    public void MovWithFsOverrideAddsFsBase()
    {
        var block = Lower("6448a12800000000000000"); // mov rax, fs:[0x28]
        var load = Assert.Single(OpsOf(block, IrOpcode.Load));
        var address = Def(block, load.A);
        Assert.Equal(IrOpcode.Add, address.Code);
        Assert.Equal(0x28UL, ConstOf(block, address.A));
        Assert.True(IsGetReg(block, address.B, GuestReg.FsBase));
    }

    [Fact]
    public void MovImm64KeepsAllBits()
    {
        var block = Lower("48b88877665544332211");
        var put = Assert.Single(OpsOf(block, IrOpcode.PutReg));
        Assert.Equal(0x1122334455667788UL, ConstOf(block, put.A));
    }

    [Fact]
    public void Cmpxchg16bChecksAlignmentBeforeItsLoads()
    {
        var block = Lower("f0480fc70f"); // lock cmpxchg16b [rdi]
        var ops = block.Ops;
        int raise = -1, firstLoad = -1;
        for (int n = 0; n < ops.Length; n++)
        {
            if (ops[n].Code == IrOpcode.RaiseIf && raise < 0) raise = n;
            if (ops[n].Code == IrOpcode.Load && firstLoad < 0) firstLoad = n;
        }
        Assert.True(raise >= 0 && raise < firstLoad, block.ToString());
        Assert.Equal((byte)ExceptionVector.GeneralProtection, ops[raise].Aux);
        var misaligned = Def(block, ops[raise].A);
        Assert.Equal(IrOpcode.CmpNe, misaligned.Code);
        Assert.Equal(15UL, ConstOf(block, Def(block, misaligned.A).B));
        Assert.Equal(2, OpsOf(block, IrOpcode.Load).Count);
        Assert.Equal(2, OpsOf(block, IrOpcode.Store).Count);
    }

    [Fact]
    public void EnterInterleavesLoadsAndPushesLikeTheSdm()
    {
        var block = Lower("c8100003"); // enter 0x10, 3: push rbp, (load, push) x2, push frame
        var sequence = new List<IrOpcode>();
        foreach (var op in block.Ops)
            if (op.Code is IrOpcode.Load or IrOpcode.Store) sequence.Add(op.Code);
        Assert.Equal(new[] { IrOpcode.Store, IrOpcode.Load, IrOpcode.Store, IrOpcode.Load, IrOpcode.Store, IrOpcode.Store }, sequence);
    }

    [Fact]
    public void PopToMemoryAddressesWithTheIncrementedRsp()
    {
        var block = Lower("8f442408"); // pop qword [rsp+8]
        var load = Assert.Single(OpsOf(block, IrOpcode.Load));
        var store = Assert.Single(OpsOf(block, IrOpcode.Store));
        // address = 8 + (rsp + 8): the RSP term is the popped RSP, not the GetReg
        var address = Def(block, store.A);
        Assert.Equal(IrOpcode.Add, address.Code);
        var rspTerm = Def(block, address.B);
        Assert.Equal(IrOpcode.Add, rspTerm.Code);
        Assert.True(IsGetReg(block, rspTerm.A, GuestReg.Rsp));
        Assert.Equal(8UL, ConstOf(block, rspTerm.B));
        Assert.Equal(load.Dst, store.B);
    }

    [Fact]
    public void PopfEndsTheBlockAndDropsIfAtCpl3WithIoplZero()
    {
        var kernel = Lower("9d", cpl: 0);
        var user = Lower("9d", cpl: 3);
        Assert.Equal(IrOpcode.Exit, Last(kernel).Code);
        Assert.Equal(CodeBase + 1, Last(kernel).Imm);
        Assert.Empty(OpsOf(kernel, IrOpcode.Select));
        // at CPL 3 the writable mask depends on IOPL at run time
        Assert.Single(OpsOf(user, IrOpcode.Select));
    }

    [Fact]
    public void EnterWithNestingCopiesFramePointers()
    {
        var block = Lower("c8100003"); // enter 0x10, 3
        Assert.Equal(2, OpsOf(block, IrOpcode.Load).Count);
        Assert.Equal(4, OpsOf(block, IrOpcode.Store).Count); // rbp, 2 copies, frame pointer
        var puts = OpsOf(block, IrOpcode.PutReg);
        Assert.Equal(new[] { GuestReg.Rbp, GuestReg.Rsp }, puts.ConvertAll(p => (int)p.Aux));
    }
}
