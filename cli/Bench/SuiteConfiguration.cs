using Drk.Dispatcher.Tools;
using Drk.Dispatcher.Jit;

namespace Drk.Cli.Bench;

/// <summary>
/// One row of <c>drk bench</c>: how the guest runs (tier, and a tool with its scope). Adding a row
/// is one entry in <see cref="SuiteBenchmark.DefaultConfigurations"/>.
/// </summary>
/// <param name="Name">The row's label in the report.</param>
/// <param name="Tier">The execution tier.</param>
/// <param name="Tool">The built-in tool's name as <c>drk run --tool</c> takes it (null: no tool).</param>
/// <param name="Scope">The instrumentation scope of the tool.</param>
/// <param name="Traces">Whether the JIT tier builds traces (off: blocks only, to measure what traces give).</param>
internal sealed record SuiteConfiguration(
    string Name,
    ExecutionTier Tier,
    string? Tool = null,
    InstrumentationScope Scope = InstrumentationScope.KernelAndModules,
    bool Traces = true)
{
    /// <summary>The configuration every row's slowdown is measured against: the same tier, no tool.</summary>
    public bool IsBaseline => Tool is null;
}
