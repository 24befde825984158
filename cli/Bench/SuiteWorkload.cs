namespace Drk.Cli.Bench;

/// <summary>A guest workload of <c>drk bench</c>: its name and the kernel command line that runs it.</summary>
internal sealed record SuiteWorkload(string Name, string CommandLine)
{
    /// <summary>The integer compute workloads and two kernel-heavy ones (docs/guest-abi.md, the workload suite).</summary>
    public static readonly SuiteWorkload[] Defaults =
    [
        new("compute-user", "run=compute-user"),
        new("compute-module", "run=compute-module"),
        new("null-syscall", "run=null-syscall"),
        new("run=all", "run=all"),
    ];
}
