using Drk.Dispatcher.Execution;
using Drk.Dispatcher.Flags;
using Drk.Dispatcher.IR;
using Drk.Hv.Cpu;
using Drk.Hv.Memory;

namespace Drk.Dispatcher.Tests.Execution;

/// <summary>How the interpreter ends blocks: exits, faults, traps, system outcomes, tool calls; and that it does not allocate.</summary>
public sealed class InterpreterTests
{
    private const ulong DataBase = 0x10_0000;
    private readonly FlatMemory _memory = new();
    private readonly byte[] _data = new byte[0x1000];
    private readonly VcpuState _state = new();

    public InterpreterTests()
    {
        _memory.Map(IrTestKit.CodeBase, Enumerable.Repeat((byte)0x90, 0x100).ToArray(), writable: false);
        _memory.Map(DataBase, _data);
        _state.Rip = IrTestKit.CodeBase;
    }

    private IrInterpreter Interpreter(ISystemInstructions? system = null) => new(_memory, system);

    [Fact]
    public void Exit_sets_rip_and_retires_through_its_instruction()
    {
        var (block, ir) = IrTestKit.NewBlock(3);
        ir.Guest = 2;
        ir.Exit(0x1234);
        var result = Interpreter().Execute(block, _state);
        Assert.Equal(BlockEnd.Exit, result.End);
        Assert.Equal(3, result.Retired);
        Assert.Equal(0x1234UL, _state.Rip);
    }

    [Theory]
    [InlineData(1UL, 0x7777UL, 2)]
    [InlineData(0UL, 0x8888UL, 3)]
    public void ExitIf_leaves_only_when_its_condition_holds(ulong cond, ulong expectedRip, int expectedRetired)
    {
        var (block, ir) = IrTestKit.NewBlock(3);
        ir.Guest = 1;
        ir.ExitIf(ir.Const(IrType.I1, cond), 0x7777);
        ir.Guest = 2;
        ir.PutReg(GuestReg.Rbx, ir.Const64(5));
        ir.Exit(0x8888);
        var result = Interpreter().Execute(block, _state);
        Assert.Equal(BlockEnd.Exit, result.End);
        Assert.Equal(expectedRetired, result.Retired);
        Assert.Equal(expectedRip, _state.Rip);
        Assert.Equal(cond == 0 ? 5UL : 0UL, _state[GuestReg.Rbx]);
    }

    [Fact]
    public void ExitIndirect_jumps_to_a_computed_rip()
    {
        var (block, ir) = IrTestKit.NewBlock();
        ir.ExitIndirect(ir.Add(ir.Const64(0x1000), ir.Const64(0x20)), IndirectKind.Return);
        var result = Interpreter().Execute(block, _state);
        Assert.Equal(BlockEnd.ExitIndirect, result.End);
        Assert.Equal(1, result.Retired);
        Assert.Equal(0x1020UL, _state.Rip);
    }

    [Fact]
    public void Loads_and_stores_are_little_endian_and_sized()
    {
        _data[0x10] = 0x11; _data[0x11] = 0x22; _data[0x12] = 0x33; _data[0x13] = 0x44;
        var (block, ir) = IrTestKit.NewBlock();
        var addr = ir.Const64(DataBase + 0x10);
        ir.PutReg(GuestReg.Rax, ir.ZExt(IrType.I64, ir.Load(IrType.I16, addr)));
        ir.PutReg(GuestReg.Rcx, ir.ZExt(IrType.I64, ir.Load(IrType.I32, addr)));
        ir.Store(ir.Const64(DataBase + 0x20), ir.Const(IrType.I16, 0xbeef));
        ir.Exit(0x5000);
        Interpreter().Execute(block, _state);
        Assert.Equal(0x2211UL, _state[GuestReg.Rax]);
        Assert.Equal(0x4433_2211UL, _state[GuestReg.Rcx]);
        Assert.Equal(0xef, _data[0x20]);
        Assert.Equal(0xbe, _data[0x21]);
        Assert.Equal(0, _data[0x22]);
    }

    [Fact]
    public void A_faulting_load_ends_the_block_at_its_instruction()
    {
        // Instruction 0 writes RAX, instruction 1 loads from an unmapped address, instruction 2 writes RBX.
        var (block, ir) = IrTestKit.NewBlock(3);
        ir.PutReg(GuestReg.Rax, ir.Const64(1));
        ir.Guest = 1;
        var value = ir.Load(IrType.I64, ir.Const64(0x9000_0000));
        ir.PutReg(GuestReg.Rcx, value);
        ir.Guest = 2;
        ir.PutReg(GuestReg.Rbx, ir.Const64(2));
        ir.Exit(0x5000);
        var result = Interpreter().Execute(block, _state);
        Assert.Equal(BlockEnd.Fault, result.End);
        Assert.Equal(ExceptionVector.PageFault, result.Fault.Vector);
        Assert.Equal(0x9000_0000UL, result.Fault.Cr2);
        Assert.Equal(IrTestKit.RipOf(1), result.Fault.Rip);
        Assert.Equal(IrTestKit.RipOf(1), _state.Rip);
        Assert.Equal(1, result.Retired);
        Assert.Equal(1UL, _state.InstructionsRetired);
        Assert.Equal(1UL, _state[GuestReg.Rax]);
        Assert.Equal(0UL, _state[GuestReg.Rcx]);
        Assert.Equal(0UL, _state[GuestReg.Rbx]);
    }

    [Fact]
    public void A_store_to_read_only_memory_faults_with_the_write_bit_and_writes_nothing()
    {
        var (block, ir) = IrTestKit.NewBlock();
        ir.Store(ir.Const64(IrTestKit.CodeBase), ir.Const64(0));
        ir.Exit(0x5000);
        var result = Interpreter().Execute(block, _state);
        Assert.Equal(ExceptionVector.PageFault, result.Fault.Vector);
        Assert.Equal(3u, result.Fault.ErrorCode);
        Assert.Equal(0, result.Retired);
    }

    [Fact]
    public void A_non_canonical_access_is_a_general_protection_fault()
    {
        var (block, ir) = IrTestKit.NewBlock();
        ir.Load(IrType.I8, ir.Const64(0x8000_0000_0000_0000));
        ir.Exit(0x5000);
        var result = Interpreter().Execute(block, _state);
        Assert.Equal(ExceptionVector.GeneralProtection, result.Fault.Vector);
    }

    [Fact]
    public void Raise_reports_the_vector_error_code_and_instruction()
    {
        var (block, ir) = IrTestKit.NewBlock(2);
        ir.Guest = 1;
        ir.Raise(ExceptionVector.GeneralProtection, 0x18);
        var result = Interpreter().Execute(block, _state);
        Assert.Equal(BlockEnd.Fault, result.End);
        Assert.Equal(ExceptionVector.GeneralProtection, result.Fault.Vector);
        Assert.True(result.Fault.HasErrorCode);
        Assert.Equal(0x18u, result.Fault.ErrorCode);
        Assert.Equal(IrTestKit.RipOf(1), result.Fault.Rip);
        Assert.Equal(1, result.Retired);
    }

    [Theory]
    [InlineData(0x0000_7fff_ffff_f000UL, false)]
    [InlineData(0xffff_8000_0000_0000UL, false)]
    [InlineData(0x0000_8000_0000_0000UL, true)]
    [InlineData(0x8000_0000_0000_1000UL, true)]
    public void RaiseIf_faults_only_when_its_condition_holds(ulong target, bool faults)
    {
        // A branch at instruction 1: #GP(0) for a non-canonical target, checked before RSP changes.
        var (block, ir) = IrTestKit.NewBlock(2);
        var cx = new Drk.Dispatcher.Lowering.LoweringContext(ir);
        ir.PutReg(GuestReg.Rax, ir.Const64(1));
        ir.Guest = 1;
        var to = ir.Const64(target);
        cx.RaiseIfNonCanonical(to);
        ir.PutReg(GuestReg.Rsp, ir.Const64(0x1234));
        ir.ExitIndirect(to, IndirectKind.Jump);
        Assert.Empty(IrVerifier.Verify(block));
        var result = Interpreter().Execute(block, _state);
        Assert.Equal(1UL, _state[GuestReg.Rax]);
        if (faults)
        {
            Assert.Equal(BlockEnd.Fault, result.End);
            Assert.Equal(ExceptionVector.GeneralProtection, result.Fault.Vector);
            Assert.True(result.Fault.HasErrorCode);
            Assert.Equal(0u, result.Fault.ErrorCode);
            Assert.Equal(IrTestKit.RipOf(1), result.Fault.Rip);
            Assert.Equal(1, result.Retired);
            Assert.Equal(0UL, _state[GuestReg.Rsp]);
        }
        else
        {
            Assert.Equal(BlockEnd.ExitIndirect, result.End);
            Assert.Equal(target, _state.Rip);
            Assert.Equal(0x1234UL, _state[GuestReg.Rsp]);
        }
    }

    [Fact]
    public void Invalid_opcode_carries_the_instruction_bytes()
    {
        var (block, ir) = IrTestKit.NewBlock();
        ir.Raise(ExceptionVector.InvalidOpcode);
        var result = Interpreter().Execute(block, _state);
        Assert.Equal(ExceptionVector.InvalidOpcode, result.Fault.Vector);
        Assert.False(result.Fault.HasErrorCode);
        Assert.Equal(new byte[] { 0x90 }, result.Fault.Bytes);
    }

    [Fact]
    public void SoftInt_is_a_trap_with_the_return_address()
    {
        var (block, ir) = IrTestKit.NewBlock(2);
        ir.Guest = 1;
        ir.SoftInt(0x80, IrTestKit.RipOf(2));
        var result = Interpreter().Execute(block, _state);
        Assert.Equal(BlockEnd.SoftInt, result.End);
        Assert.Equal((ExceptionVector)0x80, result.Fault.Vector);
        Assert.Equal(IrTestKit.RipOf(2), result.Fault.Rip);
        Assert.Equal(IrTestKit.RipOf(2), _state.Rip);
        Assert.Equal(2, result.Retired);
    }

    [Fact]
    public void Flag_conditions_are_evaluated_on_the_thunk()
    {
        // cmp 3, 5 as a 32-bit Sub thunk: below, less, not equal.
        var (block, ir) = IrTestKit.NewBlock();
        var op = ir.Const64(FlagsOps.Make(FlagsKind.Sub, 4));
        var a = ir.Const64(3);
        var b = ir.Const64(5);
        var n = ir.Const64(0);
        ir.PutReg(GuestReg.Rax, ir.ZExt(IrType.I64, ir.CondFromFlags(Condition.B, op, a, b, n)));
        ir.PutReg(GuestReg.Rcx, ir.ZExt(IrType.I64, ir.CondFromFlags(Condition.E, op, a, b, n)));
        ir.PutReg(GuestReg.Rdx, ir.FlagsFromThunk(op, a, b, n));
        ir.Exit(0x5000);
        Interpreter().Execute(block, _state);
        Assert.Equal(1UL, _state[GuestReg.Rax]);
        Assert.Equal(0UL, _state[GuestReg.Rcx]);
        Assert.Equal(FlagsCalculator.Compute(FlagsOps.Make(FlagsKind.Sub, 4), 3, 5, 0), _state[GuestReg.Rdx]);
        Assert.Equal(Drk.Hv.Cpu.Rflags.CF | Drk.Hv.Cpu.Rflags.SF, _state[GuestReg.Rdx] & (Drk.Hv.Cpu.Rflags.CF | Drk.Hv.Cpu.Rflags.SF | Drk.Hv.Cpu.Rflags.ZF));
    }

    [Fact]
    public void Without_a_system_implementation_system_ops_raise_invalid_opcode()
    {
        var (block, ir) = IrTestKit.NewBlock();
        ir.System(SystemOp.Cpuid, IrValue.None, IrValue.None);
        ir.Exit(0x5000);
        var result = Interpreter().Execute(block, _state);
        Assert.Equal(BlockEnd.Fault, result.End);
        Assert.Equal(ExceptionVector.InvalidOpcode, result.Fault.Vector);
        Assert.Equal(0, result.Retired);
    }

    [Fact]
    public void A_system_op_that_continues_sees_its_own_rip_and_returns_its_result()
    {
        var system = new ScriptedSystemInstructions { Result = 0xc0de };
        var (block, ir) = IrTestKit.NewBlock(2);
        ir.Guest = 1;
        var r = ir.System(SystemOp.ReadCr, ir.Const64(3), IrValue.None);
        ir.PutReg(GuestReg.Rax, r);
        ir.Exit(IrTestKit.RipOf(2));
        _state.InstructionsRetired = 100;
        var result = Interpreter(system).Execute(block, _state);
        Assert.Equal(BlockEnd.Exit, result.End);
        Assert.Equal(0xc0deUL, _state[GuestReg.Rax]);
        Assert.Equal((SystemOp.ReadCr, 3UL, 0UL, IrTestKit.RipOf(1)), Assert.Single(system.Calls));
        // The helper sees the clock with instruction 0 retired; after the block both have.
        Assert.Equal(101UL, Assert.Single(system.Clocks));
        Assert.Equal(102UL, _state.InstructionsRetired);
    }

    [Theory]
    [InlineData(SystemOutcome.Jump, BlockEnd.SystemJump, 0x4444UL, 2)]
    [InlineData(SystemOutcome.Halt, BlockEnd.Halt, IrTestKit.CodeBase + 2, 2)]
    [InlineData(SystemOutcome.Stop, BlockEnd.Stop, IrTestKit.CodeBase + 2, 2)]
    [InlineData(SystemOutcome.Fault, BlockEnd.Fault, IrTestKit.CodeBase + 1, 1)]
    public void System_outcomes_end_the_block(SystemOutcome outcome, BlockEnd end, ulong rip, int retired)
    {
        var system = new ScriptedSystemInstructions
        {
            Outcome = outcome,
            JumpTarget = 0x4444,
            FaultToReport = GuestFault.GeneralProtection(),
        };
        var (block, ir) = IrTestKit.NewBlock(2);
        ir.Guest = 1;
        ir.System(SystemOp.Hlt, IrValue.None, IrValue.None);
        ir.PutReg(GuestReg.Rax, ir.Const64(1));
        ir.Exit(IrTestKit.RipOf(2));
        var result = Interpreter(system).Execute(block, _state);
        Assert.Equal(end, result.End);
        Assert.Equal(retired, result.Retired);
        Assert.Equal(rip, _state.Rip);
        Assert.Equal(0UL, _state[GuestReg.Rax]);
        if (end == BlockEnd.Fault)
        {
            Assert.Equal(ExceptionVector.GeneralProtection, result.Fault.Vector);
            Assert.Equal(IrTestKit.RipOf(1), result.Fault.Rip);
        }
    }

    [Fact]
    public void Clean_calls_receive_their_arguments()
    {
        var interpreter = Interpreter();
        var seen = new List<(ulong, ulong, ulong, ulong)>();
        ulong number = interpreter.CleanCalls.Register((a, b, c, d) => seen.Add((a, b, c, d)));
        var (block, ir) = IrTestKit.NewBlock();
        ir.Meta = true;
        ir.CleanCall(number, ir.Const64(1), ir.Const64(2), IrValue.None, ir.Const64(4));
        ir.Meta = false;
        ir.Exit(0x5000);
        Assert.Empty(IrVerifier.Verify(block));
        interpreter.Execute(block, _state);
        Assert.Equal((1UL, 2UL, 0UL, 4UL), Assert.Single(seen));
    }

    private sealed class AddingMetaHandler : IMetaOpHandler
    {
        public int Calls;

        public ulong Execute(in IrOp op, ulong a, ulong b, ulong c, ulong d, VcpuState state)
        {
            Calls++;
            return a + b + op.Imm;
        }
    }

    [Fact]
    public void Meta_ops_run_their_handler_or_nothing()
    {
        var (block, _) = IrTestKit.NewBlock();
        var ir = new IrBuilder(block) { Meta = true };
        var a = ir.Const64(10);
        var dst = block.NewTemp(IrType.I64);
        block.Append(new IrOp
        {
            Code = IrOpcode.Meta, Type = IrType.I64, Aux = 7, IsMeta = true, Dst = dst.Id,
            A = a.Id, B = a.Id, C = IrOp.None, D = IrOp.None, Imm = 1,
        });
        ir.Meta = false;
        ir.PutReg(GuestReg.Rax, dst);
        ir.Exit(0x5000);
        Assert.Empty(IrVerifier.Verify(block));

        Interpreter().Execute(block, _state);
        Assert.Equal(0UL, _state[GuestReg.Rax]);

        var handler = new AddingMetaHandler();
        var interpreter = Interpreter();
        interpreter.RegisterMetaHandler(7, handler);
        interpreter.Execute(block, _state);
        Assert.Equal(21UL, _state[GuestReg.Rax]);
        Assert.Equal(1, handler.Calls);
    }

    [Fact]
    public void Executing_a_block_allocates_nothing()
    {
        var (block, ir) = IrTestKit.NewBlock(2);
        var addr = ir.Const64(DataBase);
        var v = ir.Load(IrType.I64, addr);
        var sum = ir.Add(v, ir.GetReg(GuestReg.Rcx));
        ir.Store(addr, sum);
        var op = ir.Const64(FlagsOps.Make(FlagsKind.Add, 8));
        ir.Guest = 1;
        var cond = ir.CondFromFlags(Condition.NE, op, sum, v, ir.Const64(0));
        ir.PutReg(GuestReg.Rcx, ir.Add(ir.GetReg(GuestReg.Rcx), ir.Const64(1)));
        ir.ExitIf(cond, IrTestKit.CodeBase);
        ir.Exit(0x5000);
        var interpreter = Interpreter();
        for (int i = 0; i < 100; i++) interpreter.Execute(block, _state);
        // An allocation per execution would show in every trial (10,000 x its size).
        Assert.Equal(0, AllocationProbe.FewestBytes(() =>
        {
            for (int i = 0; i < 10_000; i++) interpreter.Execute(block, _state);
        }));
    }
}
