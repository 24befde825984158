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
        var instructions = new Option<long>("--instructions", "-n")
        {
            Description = "Guest instructions to execute in the timed run",
            DefaultValueFactory = _ => 200_000_000,
        };
        var noOptimize = new Option<bool>("--no-optimize") { Description = "Interpret the IR as lowered, without the optimiser" };
        var repeat = new Option<int>("--repeat", "-r") { Description = "Timed runs; the report gives each and the median", DefaultValueFactory = _ => 3 };
        var machine = new Option<bool>("--machine-readable") { Description = "Print one 'key value' line per figure instead of the table" };
        var memoryOption = new Option<string>("--memory")
        {
            Description = "Guest memory: flat (FlatMemory, the tests' memory), mmu (page walk + soft TLB) or both",
            DefaultValueFactory = _ => "both",
        };
        memoryOption.AcceptOnlyFromAmong("flat", "mmu", "both");

        var command = new Command("interp", "Interpreter tier: guest MIPS, IR build ns/instruction, allocation per instruction");
        command.Options.Add(instructions);
        command.Options.Add(noOptimize);
        command.Options.Add(repeat);
        command.Options.Add(machine);
        command.Options.Add(memoryOption);
        command.SetAction(parse =>
        {
            long n = parse.GetValue(instructions);
            int runs = parse.GetValue(repeat);
            if (n < InterpreterLoop.InstructionsPerIteration || runs < 1)
            {
                Console.Error.WriteLine("drk bench interp: --instructions must be at least 19 and --repeat at least 1");
                return 2;
            }
            bool optimize = !parse.GetValue(noOptimize);
            bool machineReadable = parse.GetValue(machine);
            var memories = parse.GetValue(memoryOption) switch
            {
                "flat" => new[] { BenchMemory.Flat },
                "mmu" => new[] { BenchMemory.Mmu },
                _ => new[] { BenchMemory.Flat, BenchMemory.Mmu },
            };
            var bench = new InterpreterBenchmark();
            bool allocates = false;
            foreach (var memory in memories)
            {
                var results = new List<InterpreterBenchmark.Result>();
                for (int i = 0; i < runs; i++)
                {
                    var r = bench.Run(n, optimize, memory);
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
        string memoryName = memory == BenchMemory.Flat ? "FlatMemory" : "Mmu (page walk + soft TLB)";
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
