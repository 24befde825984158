using System.CommandLine;
using Drk.Cli.Running;

namespace Drk.Cli.Commands;

/// <summary><c>drk tools</c>: lists the built-in tools that <c>drk run --tool</c> accepts by name.</summary>
internal static class ToolsCommand
{
    public static Command Create()
    {
        var command = new Command("tools", "List the built-in analysis tools (drk run --tool NAME); a tool of your own is given by the path of its .dll");
        command.SetAction(_ =>
        {
            foreach (var tool in ToolCatalog.BuiltInTools())
                Console.Out.WriteLine($"{tool.Name,-12} {tool.Description}");
            Console.Out.WriteLine("(your own: drk run --tool path/to/Tool.dll; see docs/writing-a-tool.md)");
            return 0;
        });
        return command;
    }
}
