using Drk.Dispatcher.Jit;
using Drk.Dispatcher.Tools;

namespace Drk.Cli.Running;

/// <summary>A validated <c>drk run</c> invocation: what to boot, on what machine, with what limits.</summary>
internal sealed record RunSettings(
    string Kernel,
    string? Initrd,
    string CommandLine,
    int Cpus,
    ulong MemoryBytes,
    ulong MaxInstructions,
    string? SerialOut,
    string? SerialIn,
    ExecutionTier Tier,
    bool Stats,
    long CacheSize,
    IReadOnlyList<ITool> Tools,
    InstrumentationScope Scope,
    string? ReportPath);
