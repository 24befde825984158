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

    /// <summary>Runs <paramref name="iterations"/> iterations of the loop after a warm-up.</summary>
    public Result Run(long iterations, bool optimize, BenchMemory memory)
    {
        double buildNs = MeasureBuild(optimize, out int sampleInstructions);

        HostWarmUp.Run(() => Execute(Math.Min(iterations, 200_000), optimize, memory, out _, out _));

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
        using var machine = new LoopMachine(_loop, kind);
        var state = machine.State;
        var runner = new GuestRunner(machine.Memory) { Optimize = optimize };
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
        var starts = _loop.BlockStarts(decoder);
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
        HostWarmUp.Run(Round, rounds: 2000, seconds: 1);
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
}
