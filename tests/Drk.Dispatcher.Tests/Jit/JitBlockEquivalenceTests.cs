using Drk.Dispatcher.Execution;
using Drk.Dispatcher.IR;
using Drk.Dispatcher.Jit;
using Drk.Dispatcher.Tests.Execution;
using Drk.Hv.Cpu;
using Drk.Hv.Memory;

namespace Drk.Dispatcher.Tests.Jit;

/// <summary>
/// Whole blocks compiled and interpreted side by side over <see cref="FlatMemory"/>: loads and
/// stores of every size (in place, across a page, faulting), every way of leaving a block, faults in
/// the middle of a block (precise state and retired count), system instructions with each outcome,
/// clean calls and Meta ops.
/// </summary>
public sealed class JitBlockEquivalenceTests
{
    private const ulong DataBase = 0x60_0000;
    private const int DataSize = 0x2000;
    private const ulong ReadOnlyBase = 0x70_0000;

    private static TierTwin NewTwin(int seed) => TierTwin.Flat(new Random(seed),
        (IrTestKit.CodeBase, 0x1000, false), (DataBase, DataSize, true), (ReadOnlyBase, 0x1000, false));

    private static void Reset(TierTwin twin, ulong address = 0, ulong value = 0) => twin.SetState(s =>
    {
        s.Slots.AsSpan().Clear();
        s[GuestReg.Rsi] = address;
        s[GuestReg.Rdi] = value;
        s[GuestReg.Rax] = 0x1111;
        s.Rip = IrTestKit.CodeBase;
        s.InstructionsRetired = 1000;
    });

    public static TheoryData<ulong> Addresses => new()
    {
        DataBase, DataBase + 0x13, DataBase + 0xffd, DataBase + 0xfff, DataBase + DataSize - 8, DataBase + DataSize - 1,
        DataBase - 1, DataBase + DataSize - 3, ReadOnlyBase + 0x40, ReadOnlyBase + 0xffe, 0x9000_0000, 0x8000_0000_0000_0000,
        0x0000_8000_0000_0000, 0xffff_8000_0000_0000, IrTestKit.CodeBase + 7,
    };

    [Theory]
    [MemberData(nameof(Addresses))]
    public void Loads_and_stores_of_every_size_match_including_faults_in_the_middle_of_the_block(ulong address)
    {
        using var twin = NewTwin((int)address);
        foreach (var type in new[] { IrType.I8, IrType.I16, IrType.I32, IrType.I64 })
        {
            // Instruction 0 writes RAX, 1 accesses memory and writes RCX, 2 writes RBX.
            var load = Block(ir =>
            {
                ir.PutReg(GuestReg.Rax, ir.Const64(0xaaaa));
                ir.Guest = 1;
                ir.PutReg(GuestReg.Rcx, ir.ZExt(IrType.I64, ir.Load(type, ir.GetReg(GuestReg.Rsi))));
                ir.Guest = 2;
                ir.PutReg(GuestReg.Rbx, ir.Const64(0xbbbb));
                ir.Exit(0x5000);
            }, 3);
            var store = Block(ir =>
            {
                ir.PutReg(GuestReg.Rax, ir.Const64(0xaaaa));
                ir.Guest = 1;
                var rdi = ir.GetReg(GuestReg.Rdi);
                ir.Store(ir.GetReg(GuestReg.Rsi), ir.Trunc(type, rdi));
                ir.PutReg(GuestReg.Rcx, rdi);
                ir.Guest = 2;
                ir.PutReg(GuestReg.Rbx, ir.Const64(0xbbbb));
                ir.Exit(0x5000);
            }, 3);
            Reset(twin, address, 0x8877_6655_4433_2211);
            twin.Run(load, $"load {type} at {address:x}");
            Reset(twin, address, 0x8877_6655_4433_2211);
            twin.Run(store, $"store {type} at {address:x}");
            Reset(twin, address, 0x0102_0304_0506_0708);
            twin.Run(load, $"load {type} at {address:x} after the store");
        }
    }

    [Fact]
    public void Every_exit_matches_the_interpreter()
    {
        using var twin = NewTwin(1);
        var blocks = new (string Name, IrBlock Block)[]
        {
            ("Exit", Block(ir => { ir.PutReg(GuestReg.Rax, ir.Const64(5)); ir.Guest = 1; ir.Exit(0x1234); }, 2)),
            ("ExitIf taken", Block(ir => { ir.ExitIf(ir.Const(IrType.I1, 1), 0x4444); ir.Guest = 1; ir.PutReg(GuestReg.Rax, ir.Const64(1)); ir.Exit(0x5555); }, 2)),
            ("ExitIf not taken", Block(ir => { ir.ExitIf(ir.Const(IrType.I1, 0), 0x4444); ir.Guest = 1; ir.PutReg(GuestReg.Rax, ir.Const64(1)); ir.Exit(0x5555); }, 2)),
            ("ExitIf on a register", Block(ir =>
            {
                ir.Guest = 1;
                var rax = ir.GetReg(GuestReg.Rax);
                ir.PutReg(GuestReg.Rbx, rax);
                ir.ExitIf(ir.Trunc(IrType.I1, rax), 0x4444);
                ir.Guest = 2;
                ir.Exit(0x5555);
            }, 3)),
            ("ExitIndirect", Block(ir => { ir.Guest = 2; ir.ExitIndirect(ir.GetReg(GuestReg.Rax), IndirectKind.Return); }, 3)),
            ("RaiseIf taken (#GP(0) in instruction 1)", Block(ir =>
            {
                ir.PutReg(GuestReg.Rbx, ir.Const64(9));
                ir.Guest = 1;
                var rax = ir.GetReg(GuestReg.Rax);
                ir.RaiseIf(ir.Compare(IrOpcode.CmpNe, rax, ir.Const64(0)), ExceptionVector.GeneralProtection, 0);
                ir.PutReg(GuestReg.Rcx, rax);
                ir.Exit(0x5555);
            }, 2)),
            ("RaiseIf not taken", Block(ir =>
            {
                var rax = ir.GetReg(GuestReg.Rax);
                ir.RaiseIf(ir.Compare(IrOpcode.CmpEq, rax, ir.Const64(0)), ExceptionVector.StackFault, 0);
                ir.PutReg(GuestReg.Rcx, rax);
                ir.Guest = 1;
                ir.Exit(0x5555);
            }, 2)),
            ("RaiseIf on a materialised condition", Block(ir =>
            {
                var odd = ir.Trunc(IrType.I1, ir.GetReg(GuestReg.Rax));
                ir.PutReg(GuestReg.Rcx, ir.ZExt(IrType.I64, odd));
                ir.Guest = 1;
                ir.RaiseIf(odd, ExceptionVector.InvalidOpcode);
                ir.Exit(0x5555);
            }, 2)),
            ("Raise #UD", Block(ir => { ir.PutReg(GuestReg.Rbx, ir.Const64(9)); ir.Guest = 1; ir.Raise(ExceptionVector.InvalidOpcode); }, 2)),
            ("Raise #GP(0x18)", Block(ir => { ir.Guest = 2; ir.Raise(ExceptionVector.GeneralProtection, 0x18); }, 3)),
            ("SoftInt 0x80", Block(ir => { ir.PutReg(GuestReg.Rbx, ir.Const64(9)); ir.Guest = 1; ir.SoftInt(0x80, IrTestKit.RipOf(2)); }, 2)),
            ("SoftInt 3", Block(ir => ir.SoftInt(3, IrTestKit.RipOf(1)), 1)),
            ("#DE in instruction 1", Block(ir =>
            {
                ir.PutReg(GuestReg.Rbx, ir.Const64(9));
                ir.Guest = 1;
                var zero = ir.Trunc(IrType.I32, ir.GetReg(GuestReg.Rcx));
                ir.PutReg(GuestReg.Rdx, ir.ZExt(IrType.I64, ir.Divide(IrOpcode.DivU, zero, zero, zero)));
                ir.Exit(0x5555);
            }, 2)),
        };
        foreach (var (name, block) in blocks)
        {
            Reset(twin);
            twin.Run(block, name);
        }
    }

    [Theory]
    [InlineData(SystemOutcome.Continue)]
    [InlineData(SystemOutcome.Jump)]
    [InlineData(SystemOutcome.Fault)]
    [InlineData(SystemOutcome.Halt)]
    [InlineData(SystemOutcome.Stop)]
    public void System_instructions_see_the_same_state_and_end_the_block_the_same_way(SystemOutcome outcome)
    {
        using var twin = NewTwin(2);
        foreach (var side in new[] { twin.Interp, twin.Jit })
        {
            side.System.Outcome = outcome;
            side.System.Result = 0xfeed_f00d;
            side.System.JumpTarget = 0xffff_8000_1234_0000;
            side.System.FaultToReport = GuestFault.GeneralProtection(0x28);
        }
        // A system instruction at index 2: the clock it sees counts instructions 0 and 1.
        var block = Block(ir =>
        {
            ir.PutReg(GuestReg.Rax, ir.Const64(1));
            ir.Guest = 1;
            ir.PutReg(GuestReg.Rbx, ir.Const64(2));
            ir.Guest = 2;
            var value = ir.System(SystemOp.ReadCr, ir.Const64(3), IrValue.None);
            ir.PutReg(GuestReg.Rcx, value);
            ir.Store(ir.Const64(DataBase + 8), value);
            ir.Exit(IrTestKit.RipOf(3));
        }, 3);
        Reset(twin);
        twin.Run(block, $"System returning {outcome}");
        Reset(twin);
        twin.Run(block, $"System returning {outcome}, again");
    }

    [Fact]
    public void Without_system_instructions_a_system_op_raises_UD_in_both_tiers()
    {
        using var twin = NewTwin(3);
        var block = Block(ir =>
        {
            ir.PutReg(GuestReg.Rax, ir.Const64(1));
            ir.Guest = 1;
            ir.PutReg(GuestReg.Rcx, ir.System(SystemOp.Cpuid, ir.GetReg(GuestReg.Rax), IrValue.None));
            ir.Exit(0x5000);
        }, 2);
        Reset(twin);
        var expected = new IrInterpreter(twin.Interp.Memory).Execute(block, twin.Interp.State);
        var actual = new IlCompiler(new JitRuntime(twin.Jit.Memory)).Compile(block).Execute(twin.Jit.State);
        TierTwin.AssertSameResult(expected, actual, "System without an implementation");
        twin.AssertSameState("System without an implementation");
        Assert.Equal(ExceptionVector.InvalidOpcode, actual.Fault.Vector);
        Assert.NotNull(actual.Fault.Bytes);
    }

    [Fact]
    public void Clean_calls_and_Meta_ops_receive_the_same_arguments_and_return_the_same_values()
    {
        using var twin = NewTwin(4);
        var calls = new[] { new List<(ulong, ulong, ulong, ulong)>(), new List<(ulong, ulong, ulong, ulong)>() };
        var sides = new[] { twin.Interp, twin.Jit };
        for (int i = 0; i < 2; i++)
        {
            var log = calls[i];
            Assert.Equal(0UL, sides[i].CleanCalls.Register((a, b, c, d) => log.Add((a, b, c, d))));
            var handler = new MixingMetaHandler();
            if (i == 0) sides[i].Interpreter.RegisterMetaHandler(7, handler);
            else sides[i].Runtime.RegisterMetaHandler(7, handler);
        }
        var block = Block(ir =>
        {
            var rax = ir.GetReg(GuestReg.Rax);
            ir.Meta = true;
            ir.CleanCall(0, rax, IrValue.None, ir.Const64(3), rax);
            var mixed = MetaOp(ir, 7, IrType.I64, rax, ir.Const64(0x99));
            var narrow = MetaOp(ir, 7, IrType.I16, rax, ir.Const64(0x12345));  // masked to its type
            MetaOp(ir, 8, IrType.I64, rax, rax);  // no handler: yields 0, does nothing
            ir.Meta = false;
            ir.PutReg(GuestReg.Rbx, mixed);
            ir.PutReg(GuestReg.Rcx, ir.ZExt(IrType.I64, narrow));
            ir.Exit(0x5000);
        }, 1);
        Reset(twin);
        twin.Run(block, "clean call and Meta");
        Assert.Equal(calls[0], calls[1]);
        Assert.Single(calls[1]);
        Assert.True(twin.Jit.State[GuestReg.Rcx] <= 0xffff);
        Assert.Equal(new MixingMetaHandler().Execute(default, 0x1111, 0x99, 0, 0, twin.Jit.State), twin.Jit.State[GuestReg.Rbx]);
    }

    [Fact]
    public void Counter_adds_are_inline_and_equal_in_both_tiers()
    {
        using var twin = NewTwin(4);
        foreach (var side in new[] { twin.Interp, twin.Jit })
        {
            Assert.Equal(0, side.Counters.Allocate("blocks"));
            Assert.Equal(1, side.Counters.Allocate("rax"));
        }
        var block = Block(ir =>
        {
            var rax = ir.GetReg(GuestReg.Rax);
            ir.Meta = true;
            ir.CounterAdd(0, ir.Const64(1));
            ir.CounterAdd(1, rax);
            ir.CounterAdd(1, rax);
            ir.Meta = false;
            ir.PutReg(GuestReg.Rbx, rax);
            ir.Exit(0x5000);
        }, 1);
        Reset(twin);
        twin.Interp.State[GuestReg.Rax] = 0x1111;
        twin.Jit.State[GuestReg.Rax] = 0x1111;
        twin.Run(block, "counter add");
        foreach (var side in new[] { twin.Interp, twin.Jit })
        {
            Assert.Equal(1, side.Counters[0]);
            Assert.Equal(0x2222, side.Counters[1]);
        }
    }

    private static IrValue MetaOp(IrBuilder ir, byte kind, IrType type, IrValue a, IrValue b)
    {
        var dst = ir.Block.NewTemp(type);
        ir.Block.Append(new IrOp
        {
            Code = IrOpcode.Meta, Type = type, Aux = kind, IsMeta = true, Guest = (ushort)ir.Guest,
            Dst = dst.Id, A = a.Id, B = b.Id, C = IrOp.None, D = IrOp.None,
        });
        return dst;
    }

    private sealed class MixingMetaHandler : IMetaOpHandler
    {
        public ulong Execute(in IrOp op, ulong a, ulong b, ulong c, ulong d, VcpuState state) => (a * 31) ^ b ^ (c << 7) ^ d;
    }

    private static IrBlock Block(Action<IrBuilder> build, int instructions)
    {
        var (block, ir) = IrTestKit.NewBlock(instructions);
        build(ir);
        IrVerifier.ThrowIfInvalid(block, "test");
        return block;
    }
}
