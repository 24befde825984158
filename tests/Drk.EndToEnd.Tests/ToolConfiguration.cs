using Drk.Dispatcher.Jit;
using Drk.Dispatcher.Tools;

namespace Drk.EndToEnd.Tests;

/// <summary>One cell of the transparency matrix: an execution tier, the built-in tools by name (none for a run without tools) and the scope.</summary>
public sealed record ToolConfiguration(ExecutionTier Tier, string[] Tools, InstrumentationScope Scope)
{
    /// <summary>No tool on <paramref name="tier"/>.</summary>
    public static ToolConfiguration Bare(ExecutionTier tier) => new(tier, [], InstrumentationScope.KernelAndModules);

    /// <summary>The tools named in <paramref name="tools"/> (comma-separated, like <c>--tool</c>) on <paramref name="tier"/> under <paramref name="scope"/>.</summary>
    public static ToolConfiguration With(ExecutionTier tier, string tools, InstrumentationScope scope) =>
        new(tier, tools.Split(','), scope);

    /// <summary>True when inscount is one of the tools.</summary>
    public bool CountsInstructions => Array.IndexOf(Tools, "inscount") >= 0;

    /// <inheritdoc />
    public override string ToString()
    {
        string tier = Tier switch { ExecutionTier.Jit => "jit", ExecutionTier.Auto => "auto", _ => "interp" };
        return Tools.Length == 0 ? $"{tier}, no tool" : $"{tier}, --tool {string.Join(',', Tools)} --scope {InstrumentationScopeNames.Name(Scope)}";
    }
}
