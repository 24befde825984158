using Drk.Dispatcher.Execution;
using Drk.Dispatcher.IR;
using Drk.Dispatcher.Jit;
using Drk.Dispatcher.Tests.Execution;
using Drk.Hv.Cpu;
using Drk.Hv.Memory;
using static Iced.Intel.AssemblerRegisters;

namespace Drk.Dispatcher.Tests.Jit;

/// <summary>
/// The tier-up policy: interpret until the threshold, then compile (synchronously or in the
/// background) and run the compiled code; blocks the JIT cannot compile stay interpreted; a
/// runner gives the same results on every tier whenever compilations finish.
/// </summary>
public sealed class JitTierTests
{
    private const ulong DataBase = 0x60_0000;

    private static IrBlock CountingBlock()
    {
        var (block, ir) = IrTestKit.NewBlock(1);
        ir.PutReg(GuestReg.Rax, ir.Add(ir.GetReg(GuestReg.Rax), ir.Const64(1)));
        ir.Exit(IrTestKit.CodeBase);
        return block;
    }

    [Fact]
    public void The_warm_up_loop_compiles_as_a_block_and_as_a_trace_over_the_mmu()
    {
        // The background compiler compiles this once per process before any guest code; if it
        // stopped compiling (an op the JIT no longer takes, a decode failure) the warm-up would
        // silently do nothing.
        using var physical = new PhysicalMemory(16UL << 20);
        var mmu = new Mmu(physical, new VcpuState());
        Assert.Equal(3, JitWarmUp.Run(new IlCompiler(new JitRuntime(mmu))));
    }

    [Fact]
    public void A_block_is_interpreted_until_the_threshold_then_runs_compiled()
    {
        var memory = new FlatMemory();
        var interpreter = new IrInterpreter(memory);
        var tier = new JitTier(new JitRuntime(memory), threshold: 3, background: false);
        var block = CountingBlock();
        var state = new VcpuState();
        for (int i = 1; i <= 3; i++)
        {
            tier.Execute(block, state, interpreter);
            Assert.Null(tier.CompiledCodeOf(block));
        }
        var result = tier.Execute(block, state, interpreter);
        Assert.NotNull(tier.CompiledCodeOf(block));
        Assert.Equal(BlockEnd.Exit, result.End);
        Assert.Equal(4UL, state[GuestReg.Rax]);
        Assert.Equal(4UL, state.InstructionsRetired);
        Assert.Equal(3, tier.Statistics.InterpretedExecutions);
        Assert.Equal(1, tier.Statistics.CompiledExecutions);
        Assert.Equal(1, tier.Statistics.BlocksCompiled);
        Assert.True(tier.Statistics.CompileTime > TimeSpan.Zero);
        Assert.True(tier.Statistics.IlBytes > 0);
    }

    [Fact]
    public void Background_compilation_swaps_the_code_in_when_it_is_ready()
    {
        var memory = new FlatMemory();
        var interpreter = new IrInterpreter(memory);
        var tier = new JitTier(new JitRuntime(memory), threshold: 1, background: true);
        var block = CountingBlock();
        var state = new VcpuState();
        tier.Execute(block, state, interpreter);
        tier.Execute(block, state, interpreter);  // reaches the threshold: queued
        // The execution that queued it looks once more, so it may already run the code when this
        // thread lost the CPU to the compiler in between; the first execution never does.
        long early = tier.Statistics.CompiledExecutions;
        Assert.InRange(early, 0, 1);
        tier.WaitForCompilations();
        Assert.NotNull(tier.CompiledCodeOf(block));
        tier.Execute(block, state, interpreter);
        Assert.Equal(3UL, state[GuestReg.Rax]);
        Assert.Equal(early + 1, tier.Statistics.CompiledExecutions);
        Assert.Null(tier.LastFailure);
    }

    [Fact]
    public void A_block_the_JIT_cannot_compile_stays_interpreted()
    {
        var (block, _) = IrTestKit.NewBlock(1);
        block.Append(new IrOp { Code = (IrOpcode)250, Dst = IrOp.None, A = IrOp.None, B = IrOp.None, C = IrOp.None, D = IrOp.None });
        var memory = new FlatMemory();
        Assert.Null(new IlCompiler(new JitRuntime(memory)).TryCompile(block, out string? reason));
        Assert.Contains("cannot compile", reason);

        var tier = new JitTier(new JitRuntime(memory), threshold: 0, background: false);
        // The interpreter rejects the op too, after the JIT declined it.
        Assert.Throws<InvalidOperationException>(() => tier.Execute(block, new VcpuState(), new IrInterpreter(memory)));
        Assert.Equal(1, tier.Statistics.Unsupported);
        Assert.Equal(0, tier.Statistics.BlocksCompiled);
    }

    [Fact]
    public void Tools_registered_on_the_interpreter_run_in_compiled_code()
    {
        var memory = new FlatMemory();
        var interpreter = new IrInterpreter(memory);
        var tier = new JitTier(new JitRuntime(interpreter, memory, null), threshold: 0, background: false);
        var seen = new List<ulong>();
        ulong callback = interpreter.CleanCalls.Register((a, _, _, _) => seen.Add(a));
        interpreter.RegisterMetaHandler(5, new PlusOne());
        var (block, ir) = IrTestKit.NewBlock(1);
        var rax = ir.GetReg(GuestReg.Rax);
        ir.Meta = true;
        ir.CleanCall(callback, rax, IrValue.None, IrValue.None, IrValue.None);
        var dst = block.NewTemp(IrType.I64);
        block.Append(new IrOp { Code = IrOpcode.Meta, Type = IrType.I64, Aux = 5, IsMeta = true, Dst = dst.Id, A = rax.Id, B = IrOp.None, C = IrOp.None, D = IrOp.None });
        ir.Meta = false;
        ir.PutReg(GuestReg.Rbx, dst);
        ir.Exit(IrTestKit.CodeBase);
        var state = new VcpuState();
        state[GuestReg.Rax] = 41;
        tier.Execute(block, state, interpreter);
        Assert.NotNull(tier.CompiledCodeOf(block));
        Assert.Equal(42UL, state[GuestReg.Rbx]);
        Assert.Equal([41UL], seen);
    }

    private sealed class PlusOne : IMetaOpHandler
    {
        public ulong Execute(in IrOp op, ulong a, ulong b, ulong c, ulong d, VcpuState state) => a + 1;
    }

    [Theory]
    [InlineData(ExecutionTier.Jit, 0)]
    [InlineData(ExecutionTier.Auto, 0)]
    [InlineData(ExecutionTier.Auto, 1500)]
    public void A_runner_gives_the_interpreters_results_on_every_tier(ExecutionTier tier, int queuedAhead)
    {
        // The one background compiler serves every tier of the process: in a full test run the
        // guest tests queue thousands of blocks, and this loop may end long before its own block
        // is compiled. Queueing other blocks first makes that happen here.
        QueueOtherCompilations(queuedAhead);
        // A loop with a load and a store per iteration, long enough for Auto to tier up mid-run.
        var code = IrTestKit.Assemble(a =>
        {
            var top = a.CreateLabel();
            a.mov(rdi, DataBase);
            a.xor(edx, edx);
            a.mov(ecx, 20_000);
            a.Label(ref top);
            a.mov(rax, __qword_ptr[rdi + rdx * 8]);
            a.imul(rax, rax, 0x2545_f491);
            a.add(rax, rcx);
            a.mov(__qword_ptr[rdi + rdx * 8], rax);
            a.inc(edx);
            a.and(edx, 63);
            a.dec(ecx);
            a.jne(top);
            a.nop();
        });
        ulong end = IrTestKit.CodeBase + (ulong)code.Length - 1;
        var (interpState, interpData, interpRunner) = Machine(code, ExecutionTier.Interpreter);
        var (state, data, runner) = Machine(code, tier);
        Assert.Equal(RunStatus.Stopped, interpRunner.Run(interpState, end, long.MaxValue, out _));
        Assert.Equal(RunStatus.Stopped, runner.Run(state, end, long.MaxValue, out _));
        Assert.Equal(interpState.Slots, state.Slots);
        Assert.Equal(interpData, data);
        Assert.Equal(interpRunner.Retired, runner.Retired);
        Assert.Equal(interpState.InstructionsRetired, state.InstructionsRetired);
        // When Auto's compilation finishes is host timing: the results above must not depend on
        // it, and the block was queued at a fixed execution count, so once the queue has drained
        // it has been compiled, whether or not its code ran.
        runner.Jit!.WaitForCompilations();
        var stats = runner.Jit.Statistics;
        Assert.True(stats.BlocksCompiled >= 1, stats.ToString());
        if (tier == ExecutionTier.Jit) Assert.Equal(0, stats.InterpretedExecutions);
    }

    /// <summary>Queues <paramref name="count"/> 60-op blocks of another tier on the background compiler.</summary>
    private static void QueueOtherCompilations(int count)
    {
        var memory = new FlatMemory();
        var interpreter = new IrInterpreter(memory);
        var other = new JitTier(new JitRuntime(memory), threshold: 0, background: true);
        for (int i = 0; i < count; i++)
        {
            var (block, ir) = IrTestKit.NewBlock(1);
            var value = ir.GetReg(GuestReg.Rax);
            for (int k = 0; k < 60; k++) value = ir.Add(value, ir.Const64((ulong)(i * 64 + k)));
            ir.PutReg(GuestReg.Rax, value);
            ir.Exit(IrTestKit.CodeBase);
            other.Execute(block, new VcpuState(), interpreter);
        }
    }

    private static (VcpuState, byte[], GuestRunner) Machine(byte[] code, ExecutionTier tier)
    {
        var memory = new FlatMemory();
        var data = new byte[0x1000];
        memory.Map(IrTestKit.CodeBase, code, writable: false);
        memory.Map(DataBase, data, executable: false);
        var state = new VcpuState { Rip = IrTestKit.CodeBase };
        return (state, data, new GuestRunner(memory) { Tier = tier });
    }
}
