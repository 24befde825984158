using System.Diagnostics;
using Drk.Dispatcher.Decoding;
using Drk.Dispatcher.Execution;
using Drk.Dispatcher.IR;
using Drk.Dispatcher.Jit;
using Drk.Hv.Cpu;
using Drk.Hv.Memory;

namespace Drk.Cli.Bench;

/// <summary>
/// Measures the JIT tier against the interpreter on <see cref="InterpreterLoop"/> through
/// <see cref="GuestRunner"/>: steady-state guest MIPS of each tier on the same loop and memory, the
/// auto tier from a cold start (interpreting, tiering up in the background), and the compile cost
/// per block.
/// </summary>
internal sealed class JitBenchmark
{
    private readonly InterpreterLoop _loop = new();

    /// <summary>One timed run of one tier.</summary>
    public sealed record Run(ExecutionTier Tier, long Instructions, double Seconds, long Allocated, JitStatistics? Statistics)
    {
        public double Mips => Instructions / Seconds / 1e6;
        public double NsPerInstruction => Seconds * 1e9 / Instructions;
    }

    /// <summary>The cost of compiling the loop's blocks.</summary>
    public sealed record CompileCost(int Blocks, int Ops, int IlBytes, double FirstMicroseconds, double MeanMicrosecondsPerBlock, double MeanMicrosecondsPerOp);

    /// <summary>
    /// A steady-state run of <paramref name="iterations"/> iterations on <paramref name="tier"/>:
    /// the runner has built (and for the JIT compiled) every block in a short run of its own first.
    /// </summary>
    public Run SteadyState(ExecutionTier tier, BenchMemory memory, long iterations)
    {
        // Host warm-up: .NET's own tiered compilation promotes the run loop within a fraction of a second.
        HostWarmUp.Run(() => Execute(tier, memory, Math.Min(iterations, 200_000), warm: true));
        return Execute(tier, memory, iterations, warm: true);
    }

    /// <summary>
    /// The compiled blocks alone: dispatched by a minimal loop (a RIP compare per block, no budget,
    /// no stop checks beyond the end address) instead of <see cref="GuestRunner"/>: how much of the
    /// JIT's figure is the run loop's own work per block.
    /// </summary>
    public Run MinimalDispatch(BenchMemory kind, long iterations)
    {
        using var machine = new LoopMachine(_loop, kind);
        var state = machine.State;
        var memory = machine.Memory;
        var runner = new GuestRunner(memory);
        var decoder = new BlockDecoder(memory);
        var compiler = new IlCompiler(new JitRuntime(memory));
        var blocks = new Dictionary<ulong, CompiledBlock>();
        foreach (ulong rip in _loop.BlockStarts(decoder))
        {
            decoder.TryDecode(rip, out var insns, out _);
            blocks[rip] = compiler.Compile(runner.Build(insns));
        }
        // The loop's two blocks in locals, so dispatch is a compare and an indirect call.
        var codes = blocks.Values.ToArray();
        ulong stop = _loop.StopRip;
        long Loop(long n)
        {
            InterpreterLoop.Reset(state, n);
            long retired = 0;
            ulong rip0 = codes[0].Block.StartRip, rip1 = codes[1].Block.StartRip;
            CompiledBlock c0 = codes[0], c1 = codes[1];
            while (state.Rip != stop)
            {
                ulong rip = state.Rip;
                var code = rip == rip0 ? c0 : rip == rip1 ? c1 : blocks[rip];
                retired += code.Execute(state).Retired;
            }
            return retired;
        }
        HostWarmUp.Run(() => Loop(Math.Min(iterations, 200_000)));
        long start = Stopwatch.GetTimestamp();
        long total = Loop(iterations);
        var elapsed = Stopwatch.GetElapsedTime(start);
        if (total != InterpreterLoop.InstructionsFor(iterations))
            throw new InvalidOperationException($"the loop retired {total} instructions, expected {InterpreterLoop.InstructionsFor(iterations)}");
        return new Run(ExecutionTier.Jit, total, elapsed.TotalSeconds, 0, null);
    }

    /// <summary>A run from a cold runner: every block starts interpreted and hot ones are compiled in the background meanwhile.</summary>
    public Run ColdStart(ExecutionTier tier, BenchMemory memory, long iterations) => Execute(tier, memory, iterations, warm: false);

    private Run Execute(ExecutionTier tier, BenchMemory kind, long iterations, bool warm)
    {
        using var machine = new LoopMachine(_loop, kind);
        var state = machine.State;
        var memory = machine.Memory;
        var runner = new GuestRunner(memory) { Tier = tier };
        long before = 0;
        if (warm)
        {
            runner.Run(state, _loop.StopRip, long.MaxValue, out _);
            runner.Jit?.WaitForCompilations();
            before = runner.Retired;
        }
        InterpreterLoop.Reset(state, iterations);
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        long start = Stopwatch.GetTimestamp();
        var status = runner.Run(state, _loop.StopRip, long.MaxValue, out _);
        var elapsed = Stopwatch.GetElapsedTime(start);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        long retired = runner.Retired - before;
        if (status != RunStatus.Stopped)
            throw new InvalidOperationException($"the benchmark loop ended with {status} instead of reaching its end");
        if (retired != InterpreterLoop.InstructionsFor(iterations))
            throw new InvalidOperationException($"the loop retired {retired} instructions, expected {InterpreterLoop.InstructionsFor(iterations)}");
        runner.Jit?.WaitForCompilations();
        return new Run(tier, retired, elapsed.TotalSeconds, allocated, runner.Jit?.Statistics);
    }

    /// <summary>Compiles the loop's blocks <paramref name="rounds"/> times with a fresh compiler over <paramref name="kind"/> memory.</summary>
    public CompileCost MeasureCompile(BenchMemory kind, int rounds)
    {
        using var machine = new LoopMachine(_loop, kind);
        var memory = machine.Memory;
        var runner = new GuestRunner(memory);
        var decoder = new BlockDecoder(memory);
        var blocks = new List<IrBlock>();
        foreach (ulong rip in _loop.BlockStarts(decoder))
        {
            decoder.TryDecode(rip, out var insns, out _);
            blocks.Add(runner.Build(insns));
        }
        var compiler = new IlCompiler(new JitRuntime(memory));
        int ops = 0, il = 0;
        long start = Stopwatch.GetTimestamp();
        foreach (var block in blocks)
        {
            var compiled = compiler.Compile(block);
            ops += block.Count;
            il += compiled.IlSize;
        }
        double first = Stopwatch.GetElapsedTime(start).TotalMicroseconds / blocks.Count;
        start = Stopwatch.GetTimestamp();
        for (int r = 0; r < rounds; r++)
            foreach (var block in blocks)
                compiler.Compile(block);
        double mean = Stopwatch.GetElapsedTime(start).TotalMicroseconds / ((double)rounds * blocks.Count);
        return new CompileCost(blocks.Count, ops, il, first, mean, mean * blocks.Count / ops);
    }
}
