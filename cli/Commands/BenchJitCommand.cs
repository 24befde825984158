using System.CommandLine;
using System.Globalization;
using Drk.Cli.Bench;
using Drk.Dispatcher.Jit;

namespace Drk.Cli.Commands;

/// <summary>
/// <c>drk bench jit</c>: guest MIPS of the interpreter and of the JIT tier measured side by side on
/// the same integer loop with loads and stores, the auto tier from a cold start, and the compile
/// cost per block.
/// </summary>
internal static class BenchJitCommand
{
    public static Command Create()
    {
        var options = new LoopBenchOptions("Timed runs per tier, alternating; the report gives the median");

        var command = new Command("jit", "JIT tier vs interpreter: guest MIPS side by side, auto tier from a cold start, compile time per block");
        options.AddTo(command);
        command.SetAction(parse =>
        {
            if (options.Read(parse, "drk bench jit") is not { } settings)
                return 2;
            bool machineReadable = settings.MachineReadable;
            long iterations = settings.Iterations;
            var bench = new JitBenchmark();
            foreach (var memory in settings.Memories)
            {
                var interp = new List<JitBenchmark.Run>();
                var jit = new List<JitBenchmark.Run>();
                for (int i = 0; i < settings.Runs; i++)
                {
                    interp.Add(bench.SteadyState(ExecutionTier.Interpreter, memory, iterations));
                    jit.Add(bench.SteadyState(ExecutionTier.Jit, memory, iterations));
                    if (!machineReadable)
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"{memory,-4} run {i + 1}: interpreter {interp[^1].Mips:F1} MIPS, JIT {jit[^1].Mips:F1} MIPS"));
                }
                var minimal = bench.MinimalDispatch(memory, iterations);
                var auto = bench.ColdStart(ExecutionTier.Auto, memory, iterations);
                var compile = bench.MeasureCompile(memory, rounds: 200);
                Report(memory, Median(interp), Median(jit), minimal, auto, compile, machineReadable);
            }
            return 0;
        });
        return command;
    }

    private static JitBenchmark.Run Median(List<JitBenchmark.Run> runs) => runs.OrderBy(r => r.Mips).ElementAt(runs.Count / 2);

    private static void Report(BenchMemory memory, JitBenchmark.Run interp, JitBenchmark.Run jit, JitBenchmark.Run minimal, JitBenchmark.Run auto,
        JitBenchmark.CompileCost compile, bool machineReadable)
    {
        var c = CultureInfo.InvariantCulture;
        var stats = auto.Statistics!;
        if (machineReadable)
        {
            string m = memory.ToString().ToLowerInvariant();
            Console.WriteLine(string.Create(c, $"{m}_interp_mips {interp.Mips:F1}"));
            Console.WriteLine(string.Create(c, $"{m}_jit_mips {jit.Mips:F1}"));
            Console.WriteLine(string.Create(c, $"{m}_jit_speedup {jit.Mips / interp.Mips:F2}"));
            Console.WriteLine(string.Create(c, $"{m}_jit_minimal_dispatch_mips {minimal.Mips:F1}"));
            Console.WriteLine(string.Create(c, $"{m}_auto_cold_mips {auto.Mips:F1}"));
            Console.WriteLine(string.Create(c, $"{m}_jit_allocated_bytes {jit.Allocated}"));
            Console.WriteLine(string.Create(c, $"{m}_compile_us_per_block {compile.MeanMicrosecondsPerBlock:F1}"));
            Console.WriteLine(string.Create(c, $"{m}_compile_us_per_op {compile.MeanMicrosecondsPerOp:F2}"));
            Console.WriteLine(string.Create(c, $"{m}_compile_first_us_per_block {compile.FirstMicroseconds:F1}"));
            return;
        }
        string memoryName = LoopBenchSettings.MemoryName(memory);
        Console.WriteLine();
        Console.WriteLine($"{InterpreterLoop.InstructionsPerIteration}-instruction integer loop (1 load + 1 store), {memoryName}, optimised IR, median run:");
        Console.WriteLine(string.Create(c, $"  interpreter      {interp.Mips,9:F1} guest MIPS   ({interp.NsPerInstruction:F2} ns/instruction)"));
        Console.WriteLine(string.Create(c, $"  JIT              {jit.Mips,9:F1} guest MIPS   ({jit.NsPerInstruction:F2} ns/instruction, {jit.Mips / interp.Mips:F2}x the interpreter, {jit.Allocated} bytes allocated)"));
        Console.WriteLine(string.Create(c, $"  JIT code alone   {minimal.Mips,9:F1} guest MIPS   (the compiled blocks under a minimal dispatch loop instead of GuestRunner)"));
        Console.WriteLine(string.Create(c, $"  auto, cold start {auto.Mips,9:F1} guest MIPS   (threshold {JitTier.DefaultThreshold}, background compile; "
            + $"{stats.BlocksCompiled} blocks compiled in {stats.CompileTime.TotalMilliseconds:F1} ms, {stats.CompiledExecutions} compiled / {stats.InterpretedExecutions} interpreted block executions)"));
        Console.WriteLine(string.Create(c, $"  compile          {compile.MeanMicrosecondsPerBlock,9:F1} us/block     ({compile.Blocks} blocks, {(double)compile.Ops / compile.Blocks:F0} ops and {compile.IlBytes / compile.Blocks} IL bytes per block, "
            + $"{compile.MeanMicrosecondsPerOp:F1} us/op; first compile {compile.FirstMicroseconds:F0} us/block)"));
        Console.WriteLine();
    }
}
