using Drk.Dispatcher.Execution;
using Drk.Dispatcher.IR;
using Drk.Dispatcher.Jit;
using Drk.Dispatcher.Tests.Execution;
using Drk.Hv;
using Drk.Hv.Boot;
using Drk.Hv.Cpu;
using Drk.Hv.Memory;

namespace Drk.Dispatcher.Tests.Jit;

/// <summary>
/// The auto tier's results do not depend on when its compilations finish. On the background
/// compiler that moment is host timing, so a timing bug shows as rare nondeterminism; a
/// <see cref="CompileSchedule"/> replays a timing from a seed, so these tests pin chosen ones.
/// </summary>
public sealed class AutoTierTimingTests
{
    private static IrBlock CountingBlock()
    {
        var (block, ir) = IrTestKit.NewBlock(1);
        ir.PutReg(GuestReg.Rax, ir.Add(ir.GetReg(GuestReg.Rax), ir.Const64(1)));
        ir.Exit(IrTestKit.CodeBase);
        return block;
    }

    /// <summary>Runs the counting block <paramref name="runs"/> times on a tier scheduled by <paramref name="seed"/>; the execution at which compiled code first ran, or -1.</summary>
    private static int FirstCompiledRun(int seed, int runs, out JitTier tier)
    {
        var memory = new FlatMemory();
        var interpreter = new IrInterpreter(memory);
        tier = new JitTier(new JitRuntime(memory), new CompileSchedule(seed));
        var block = CountingBlock();
        var state = new VcpuState();
        int first = -1;
        for (int i = 0; i < runs; i++)
        {
            long before = tier.Statistics.CompiledExecutions;
            tier.Execute(block, state, interpreter);
            if (first < 0 && tier.Statistics.CompiledExecutions > before) first = i;
        }
        Assert.Equal((ulong)runs, state[GuestReg.Rax]);
        return first;
    }

    [Fact]
    public void A_schedule_compiles_at_the_same_moment_for_the_same_seed_and_at_other_moments_for_others()
    {
        var moments = new HashSet<int>();
        for (int seed = 1; seed <= 12; seed++)
        {
            int first = FirstCompiledRun(seed, 3000, out var tier);
            Assert.Equal(first, FirstCompiledRun(seed, 3000, out _));
            var schedule = new CompileSchedule(seed);
            // Compiled code never runs before the threshold; the request is finished when drawn, or on a wait.
            Assert.True(first < 0 || first > schedule.Threshold, $"{schedule}: compiled code ran at execution {first}");
            tier.WaitForCompilations();
            Assert.Equal(1, tier.Statistics.BlocksCompiled);
            moments.Add(first);
        }
        Assert.True(moments.Count >= 4, $"the seeds gave only these first compiled executions: {string.Join(", ", moments)}");
    }

    [SkippableTheory]
    [InlineData(1, 5)]
    [InlineData(2, 13)]
    public void The_guest_sees_the_same_machine_whenever_compiled_code_arrives(int cpus, int seed)
    {
        var (kernel, initrd) = GuestRun.ImagesOrSkip();
        var reference = GuestRun.Run(kernel, initrd, "selftest", cpus, new MachineRunOptions { Tier = ExecutionTier.Interpreter, MaxInstructions = 2_000_000_000 });
        long compiled = 0;
        var options = new MachineRunOptions { Tier = ExecutionTier.Auto, CompileScheduleSeed = seed, MaxInstructions = 2_000_000_000 };
        var run = GuestRun.Run(kernel, initrd, "selftest", cpus, options, runner =>
        {
            foreach (var vcpu in runner.Vcpus)
                compiled += (vcpu.Jit?.Statistics.CompiledExecutions ?? 0) + vcpu.Statistics.TraceRuns;
        });
        string where = $"selftest, {cpus} vCPU(s), {new CompileSchedule(seed)}";
        GuestRun.AssertSameMachine(reference, run, where);
        Assert.True(compiled > 0, $"{where}: no compiled code ran");
    }

    [SkippableTheory]
    [InlineData(5)]
    [InlineData(13)]
    [InlineData(21)]
    [InlineData(34)]
    public void Queued_block_compiles_that_a_trace_takes_back_leave_the_machine_the_same(int seed)
    {
        var (kernel, initrd) = GuestRun.ImagesOrSkip();
        var reference = GuestRun.Run(kernel, initrd, "selftest", 1, new MachineRunOptions { Tier = ExecutionTier.Interpreter, MaxInstructions = 2_000_000_000 });
        long withdrawn = 0, traceRuns = 0;
        var options = new MachineRunOptions { Tier = ExecutionTier.Auto, CompileScheduleSeed = seed, MaxInstructions = 2_000_000_000 };
        var run = GuestRun.Run(kernel, initrd, "selftest", 1, options, runner =>
        {
            foreach (var vcpu in runner.Vcpus)
            {
                withdrawn += vcpu.Jit?.Statistics.RequestsWithdrawn ?? 0;
                traceRuns += vcpu.Statistics.TraceRuns;
            }
        });
        string where = $"selftest, {new CompileSchedule(seed)}";
        GuestRun.AssertSameMachine(reference, run, where);
        // The schedule leaves requests queued long enough for traces to form over their blocks.
        Assert.True(withdrawn > 0 && traceRuns > 0, $"{where}: {withdrawn} requests withdrawn, {traceRuns} trace runs");
    }
}
