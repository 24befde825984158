using Drk.Experiments.Matrix;
using Drk.Experiments.Specs;

namespace Drk.Experiments.Engines;

/// <summary>Everything an engine needs for one run.</summary>
/// <param name="CommandLine">The full guest command line, workload included.</param>
/// <param name="NativeProgram">The host build of the workload, for the native engine.</param>
/// <param name="ToolAssembly">The full path of the variant's tool when the spec names it by a .dll path.</param>
public sealed record RunRequest(
    Variant Variant,
    WorkloadSpec Workload,
    GuestImage Guest,
    string CommandLine,
    TimeSpan Timeout,
    long? MaxInstructions,
    string? NativeProgram,
    string? ToolAssembly = null);
