using System.CommandLine;

namespace Drk.Cli.Commands;

/// <summary><c>drk bench ...</c>: the execution core's micro-benchmarks.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var command = new Command("bench", "Measure the execution core");
        command.Subcommands.Add(BenchInterpCommand.Create());
        command.Subcommands.Add(BenchJitCommand.Create());
        return command;
    }
}
