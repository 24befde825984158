using System.CommandLine;

namespace Drk.Cli;

/// <summary>The root of the <c>drk</c> command line: builds the verb tree and runs it.</summary>
internal static class DrkCommand
{
    public static int Run(string[] args)
    {
        var root = new RootCommand("Drk: dynamic binary instrumentation for an x86-64 guest kernel");
        root.Subcommands.Add(Commands.ExperimentCommand.Create());
        root.Subcommands.Add(Commands.BenchCommand.Create());
        root.Subcommands.Add(Commands.IrCommand.Create());
        root.Subcommands.Add(Commands.RunCommand.Create());
        root.Subcommands.Add(Commands.ToolsCommand.Create());
        return root.Parse(args).Invoke();
    }
}
