using System.Diagnostics;
using Drk.Dispatcher.Decoding;
using Drk.Dispatcher.Execution;
using Drk.Dispatcher.IR;
using Drk.Dispatcher.Lowering;
using Drk.Dispatcher.Optimization;
using Drk.Hv.Cpu;
using Drk.Hv.Memory;

namespace Drk.Cli.Bench;

/// <summary>
/// Measures the interpreter tier on <see cref="InterpreterLoop"/>: execution speed through
/// <see cref="GuestRunner"/>, the cost of building IR (decode + lower + optimise) per guest
/// instruction, and the bytes allocated per executed instruction in the steady state.
/// </summary>
internal sealed class InterpreterBenchmark
{
    private readonly InterpreterLoop _loop = new();

    /// <summary>What one measurement found.</summary>
    public sealed record Result(
        long Instructions,
        double Seconds,
        double Mips,
        double NsPerInstruction,
        double BuildNsPerInstruction,
        int BuildSampleInstructions,
        double AllocatedBytesPerInstruction,
        long AllocatedBytes);

    /// <summary>Runs the loop for about <paramref name="instructions"/> guest instructions after a warm-up.</summary>
    public Result Run(long instructions, bool optimize, BenchMemory memory)
    {
        long iterations = Math.Max(1, instructions / InterpreterLoop.InstructionsPerIteration);
        double buildNs = MeasureBuild(optimize, out int sampleInstructions);

        // Warm-up: lets tiered compilation promote the interpreter loop to optimised code
        // (on-stack replacement and the background re-JIT take a fraction of a second).
        long warmStart = Stopwatch.GetTimestamp();
        for (int i = 0; i < 3 || Stopwatch.GetElapsedTime(warmStart).TotalSeconds < 0.5; i++)
            Execute(Math.Min(iterations, 200_000), optimize, memory, out _, out _);

        var (seconds, allocated) = Execute(iterations, optimize, memory, out long retired, out var status);
        if (status != RunStatus.Stopped)
            throw new InvalidOperationException($"the benchmark loop ended with {status} instead of reaching its end");
        if (retired != InterpreterLoop.InstructionsFor(iterations))
            throw new InvalidOperationException($"the loop retired {retired} instructions, expected {InterpreterLoop.InstructionsFor(iterations)}");
        return new Result(retired, seconds, retired / seconds / 1e6, seconds * 1e9 / retired, buildNs, sampleInstructions,
            (double)allocated / retired, allocated);
    }

    private (double Seconds, long Allocated) Execute(long iterations, bool optimize, BenchMemory kind, out long retired, out RunStatus status)
    {
        var state = InterpreterLoop.CreateState(2);
        using var physical = kind == BenchMemory.Mmu ? new PhysicalMemory(16UL << 20) : null;
        IGuestMemory memory = physical is null ? _loop.CreateMemory() : _loop.CreateMmu(physical, state);
        var runner = new GuestRunner(memory) { Optimize = optimize };
        // A short run of its own builds and caches every block, so the timed run is the steady state.
        runner.Run(state, _loop.StopRip, long.MaxValue, out _);
        long warm = runner.Retired;
        InterpreterLoop.Reset(state, iterations);
        // Timestamps, not a Stopwatch object, so the measurement itself allocates nothing.
        long before = GC.GetAllocatedBytesForCurrentThread();
        long start = Stopwatch.GetTimestamp();
        status = runner.Run(state, _loop.StopRip, long.MaxValue, out _);
        var elapsed = Stopwatch.GetElapsedTime(start);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        retired = runner.Retired - warm;
        return (elapsed.TotalSeconds, allocated);
    }

    /// <summary>Nanoseconds per guest instruction to decode, lower and optimise the loop's blocks, averaged over many builds.</summary>
    private double MeasureBuild(bool optimize, out int instructionsPerRound)
    {
        var memory = _loop.CreateMemory();
        var decoder = new BlockDecoder(memory);
        var lowerer = new Lowerer();
        var optimizer = new Optimizer();
        var starts = BlockStarts(decoder);
        instructionsPerRound = 0;
        foreach (ulong rip in starts)
        {
            decoder.TryDecode(rip, out var insns, out _);
            instructionsPerRound += insns.Length;
        }
        void Round()
        {
            foreach (ulong rip in starts)
            {
                decoder.TryDecode(rip, out var insns, out _);
                var block = lowerer.Lower(insns, 0);
                if (optimize) optimizer.Optimize(block);
            }
        }
        long warmStart = Stopwatch.GetTimestamp();
        for (int i = 0; i < 2000 || Stopwatch.GetElapsedTime(warmStart).TotalSeconds < 1; i++) Round();
        // The median of several batches: building allocates, and a batch that meets a
        // collection or a late re-JIT is not the typical cost.
        const int batches = 7, rounds = 4000;
        var perInstruction = new double[batches];
        for (int b = 0; b < batches; b++)
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < rounds; i++) Round();
            perInstruction[b] = Stopwatch.GetElapsedTime(start).TotalNanoseconds / ((double)rounds * instructionsPerRound);
        }
        Array.Sort(perInstruction);
        return perInstruction[batches / 2];
    }

    /// <summary>The RIPs of the blocks the loop executes (prologue + first loop block, the loop top, the block after the JE).</summary>
    private List<ulong> BlockStarts(BlockDecoder decoder)
    {
        var starts = new List<ulong>();
        var pending = new Queue<ulong>();
        pending.Enqueue(InterpreterLoop.CodeBase);
        while (pending.Count > 0)
        {
            ulong rip = pending.Dequeue();
            if (starts.Contains(rip) || rip == _loop.StopRip) continue;
            starts.Add(rip);
            if (!decoder.TryDecode(rip, out var insns, out _)) continue;
            var last = insns[^1].Instruction;
            pending.Enqueue(last.NextIP);
            if (last.FlowControl == Iced.Intel.FlowControl.ConditionalBranch) pending.Enqueue(last.NearBranchTarget);
        }
        return starts;
    }
}
