using System.CommandLine;

namespace Drk.Cli.Commands;

/// <summary><c>drk bench ...</c>: the execution core's micro-benchmarks.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var command = new Command("bench", "Measure the execution core; without a subcommand, the guest workload suite (drk bench suite)");
        // drk bench alone runs the suite.
        foreach (var o in BenchSuiteCommand.Options()) command.Options.Add(o);
        command.SetAction(BenchSuiteCommand.Run);
        command.Subcommands.Add(BenchSuiteCommand.Create());
        command.Subcommands.Add(BenchInterpCommand.Create());
        command.Subcommands.Add(BenchJitCommand.Create());
        command.Subcommands.Add(BenchShadowCommand.Create());
        return command;
    }
}
