using System.CommandLine;
using System.Globalization;
using Drk.Cli.Bench;

namespace Drk.Cli.Commands;

/// <summary>
/// <c>drk bench interp</c>: guest MIPS of the interpreter tier on an integer loop with loads and
/// stores, the IR build cost per guest instruction and the bytes allocated per executed instruction.
/// </summary>
internal static class BenchInterpCommand
{
    public static Command Create()
    {
        var options = new LoopBenchOptions("Timed runs; the report gives each and the median");
        var noOptimize = new Option<bool>("--no-optimize") { Description = "Interpret the IR as lowered, without the optimiser" };

        var command = new Command("interp", "Interpreter tier: guest MIPS, IR build ns/instruction, allocation per instruction");
        options.AddTo(command);
        command.Options.Add(noOptimize);
        command.SetAction(parse =>
        {
            if (options.Read(parse, "drk bench interp") is not { } settings)
                return 2;
            bool optimize = !parse.GetValue(noOptimize);
            bool machineReadable = settings.MachineReadable;
            var bench = new InterpreterBenchmark();
            bool allocates = false;
            foreach (var memory in settings.Memories)
            {
                var results = new List<InterpreterBenchmark.Result>();
                for (int i = 0; i < settings.Runs; i++)
                {
                    var r = bench.Run(settings.Iterations, optimize, memory);
                    results.Add(r);
                    if (!machineReadable)
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"{memory,-4} run {i + 1}: {r.Instructions:N0} instructions in {r.Seconds:F2} s = {r.Mips:F1} MIPS"));
                }
                var median = results.OrderBy(r => r.Mips).ElementAt(results.Count / 2);
                Report(median, optimize, memory, machineReadable);
                allocates |= median.AllocatedBytes != 0;
            }
            return allocates ? 1 : 0;
        });
        return command;
    }

    private static void Report(InterpreterBenchmark.Result r, bool optimize, BenchMemory memory, bool machineReadable)
    {
        var c = CultureInfo.InvariantCulture;
        if (machineReadable)
        {
            string m = memory.ToString().ToLowerInvariant();
            Console.WriteLine(string.Create(c, $"{m}_interp_mips {r.Mips:F1}"));
            Console.WriteLine(string.Create(c, $"{m}_interp_ns_per_instruction {r.NsPerInstruction:F2}"));
            Console.WriteLine(string.Create(c, $"{m}_ir_build_ns_per_instruction {r.BuildNsPerInstruction:F0}"));
            Console.WriteLine(string.Create(c, $"{m}_allocated_bytes_per_instruction {r.AllocatedBytesPerInstruction:F4}"));
            Console.WriteLine($"{m}_optimised {(optimize ? 1 : 0)}");
            return;
        }
        string memoryName = LoopBenchSettings.MemoryName(memory);
        Console.WriteLine();
        Console.WriteLine($"interpreter tier, {InterpreterLoop.InstructionsPerIteration}-instruction integer loop (1 load + 1 store), "
            + $"{memoryName}, {(optimize ? "optimised IR" : "IR as lowered")}, median run:");
        Console.WriteLine(string.Create(c, $"  execution        {r.Mips,10:F1} guest MIPS   ({r.NsPerInstruction:F2} ns/instruction)"));
        Console.WriteLine(string.Create(c, $"  IR build         {r.BuildNsPerInstruction,10:F0} ns/instruction (decode + lower{(optimize ? " + optimise" : "")}, {r.BuildSampleInstructions} instructions in the loop's blocks)"));
        Console.WriteLine(string.Create(c, $"  allocation       {r.AllocatedBytesPerInstruction,10:F4} bytes/instruction ({r.AllocatedBytes} bytes in the timed run)"));
        if (r.AllocatedBytes != 0)
            Console.WriteLine("  FAIL: the steady state allocates; it must not.");
        Console.WriteLine();
    }
}
