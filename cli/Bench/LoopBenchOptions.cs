using System.CommandLine;

namespace Drk.Cli.Bench;

/// <summary>
/// The options of the benchmarks that time <see cref="InterpreterLoop"/> (<c>drk bench interp</c>,
/// <c>drk bench jit</c>): guest instructions per run, timed runs, machine-readable output and the
/// guest memory.
/// </summary>
internal sealed class LoopBenchOptions
{
    private readonly Option<long> _instructions = new("--instructions", "-n")
    {
        Description = "Guest instructions per timed run",
        DefaultValueFactory = _ => 200_000_000,
    };
    private readonly Option<int> _repeat;
    private readonly Option<bool> _machine = new("--machine-readable") { Description = "Print one 'key value' line per figure instead of the table" };
    private readonly Option<string> _memory = new("--memory")
    {
        Description = "Guest memory: flat (FlatMemory, the tests' memory), mmu (page walk + soft TLB) or both",
        DefaultValueFactory = _ => "both",
    };

    /// <param name="repeatDescription">What --repeat means to this benchmark (one tier, or tiers alternating).</param>
    public LoopBenchOptions(string repeatDescription)
    {
        _repeat = new Option<int>("--repeat", "-r") { Description = repeatDescription, DefaultValueFactory = _ => 3 };
        _memory.AcceptOnlyFromAmong("flat", "mmu", "both");
    }

    public void AddTo(Command command)
    {
        command.Options.Add(_instructions);
        command.Options.Add(_repeat);
        command.Options.Add(_machine);
        command.Options.Add(_memory);
    }

    /// <summary>The settings, or null after telling stderr why they are out of range (<paramref name="commandName"/> heads the message).</summary>
    public LoopBenchSettings? Read(ParseResult parse, string commandName)
    {
        long instructions = parse.GetValue(_instructions);
        int runs = parse.GetValue(_repeat);
        if (instructions < InterpreterLoop.InstructionsPerIteration || runs < 1)
        {
            Console.Error.WriteLine($"{commandName}: --instructions must be at least {InterpreterLoop.InstructionsPerIteration} and --repeat at least 1");
            return null;
        }
        var memories = parse.GetValue(_memory) switch
        {
            "flat" => new[] { BenchMemory.Flat },
            "mmu" => new[] { BenchMemory.Mmu },
            _ => new[] { BenchMemory.Flat, BenchMemory.Mmu },
        };
        return new LoopBenchSettings(instructions, runs, parse.GetValue(_machine), memories);
    }
}
