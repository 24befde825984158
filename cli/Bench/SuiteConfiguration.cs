using Drk.Dispatcher.Execution;
using Drk.Dispatcher.Jit;

namespace Drk.Cli.Bench;

/// <summary>
/// One row of <c>drk bench</c>: how the guest runs (tier, and later a tool with its scope). Adding
/// a row is one entry in <see cref="SuiteBenchmark.DefaultConfigurations"/>; a tool row attaches
/// its tool to the runner in <see cref="Attach"/>.
/// </summary>
/// <param name="Name">The row's label in the report.</param>
/// <param name="Tier">The execution tier.</param>
/// <param name="Tool">The tool's name (null: no tool), shown in the report.</param>
/// <param name="Scope">The instrumentation scope of the tool (null: the tool's default).</param>
/// <param name="Attach">Called with the runner before the run starts (registers the tool); null for none.</param>
/// <param name="Traces">Whether the JIT tier builds traces (off: blocks only, to measure what traces give).</param>
internal sealed record SuiteConfiguration(
    string Name,
    ExecutionTier Tier,
    string? Tool = null,
    string? Scope = null,
    Action<MachineRunner>? Attach = null,
    bool Traces = true)
{
    /// <summary>The configuration every row's slowdown is measured against: the same tier, no tool.</summary>
    public bool IsBaseline => Tool is null;
}
