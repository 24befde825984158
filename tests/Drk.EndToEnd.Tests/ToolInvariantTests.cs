using System.Text.RegularExpressions;
using Drk.Dispatcher.Execution;
using Drk.Dispatcher.Tools;
using Drk.Hv;

namespace Drk.EndToEnd.Tests;

/// <summary>
/// The transparency invariant of issue 6 ("How it is checked") held on the real guest, in
/// process: for <c>selftest</c> and <c>run=all</c> on one and two vCPUs (and the selftest with a
/// fast timer, <see cref="ToolMatrix.FastTimerSelftest"/>), every tier, with no tool,
/// the null tool and inscount under each scope, the guest prints the same serial output (timing
/// lines and <c>cycles=</c> values aside) and retires the same number of instructions, in all and
/// at CPL 0; and inscount's counts are exact. <see cref="ToolMatrix"/> says which cells run.
/// </summary>
public sealed partial class ToolInvariantTests(ToolMatrixRuns runs) : IClassFixture<ToolMatrixRuns>
{
    public static TheoryData<string, int> Rows => new()
    {
        { "selftest", 1 },
        { "selftest", 2 },
        { ToolMatrix.RunAll, 1 },
        { ToolMatrix.RunAll, 2 },
        { ToolMatrix.FastTimerSelftest, 2 },
    };

    [SkippableTheory]
    [MemberData(nameof(Rows))]
    public void Every_tier_tool_and_scope_gives_the_same_output_and_retired_count(string commandLine, int cpus)
    {
        var outcomes = runs.Get(commandLine, cpus);
        var reference = outcomes[0];
        Assert.True(reference.Result.Reason == MachineStopReason.DebugExit && reference.Result.ExitStatus == 0, reference.Describe());
        Assert.Contains(commandLine.StartsWith("selftest", StringComparison.Ordinal) ? "suites passed" : "workloads passed", reference.Serial);
        var referenceLines = reference.ComparableSerial.Split('\n');
        int moduleLoads = -1;
        foreach (var outcome in outcomes)
        {
            var r = outcome.Result;
            Assert.True(r.Reason == reference.Result.Reason && r.ExitStatus == reference.Result.ExitStatus,
                $"{outcome.Description}: stopped with {r.ReasonName} {r.ExitStatus}, the reference with {reference.Result.ReasonName} {reference.Result.ExitStatus}\n{outcome.Describe()}");
            Assert.True(r.InstructionsRetired == reference.Result.InstructionsRetired,
                $"{outcome.Description}: {r.InstructionsRetired} instructions retired, {reference.Description}: {reference.Result.InstructionsRetired}");
            Assert.True(r.KernelInstructionsRetired == reference.Result.KernelInstructionsRetired,
                $"{outcome.Description}: {r.KernelInstructionsRetired} kernel instructions retired, {reference.Description}: {reference.Result.KernelInstructionsRetired}");
            SerialAssert.SameLines(referenceLines, outcome.ComparableSerial.Split('\n'), reference.Description, outcome.Description);
            if (outcome.ToolOutput.Length == 0) continue;
            // The tools were really there: they instrumented blocks and saw the modules load.
            Assert.True(outcome.BlocksInstrumented > 0, $"{outcome.Description}: no block was instrumented\n{outcome.ToolOutput}");
            Assert.True(outcome.ModuleLoads > 0, $"{outcome.Description}: no module load event");
            if (moduleLoads < 0) moduleLoads = outcome.ModuleLoads;
            Assert.True(outcome.ModuleLoads == moduleLoads, $"{outcome.Description}: {outcome.ModuleLoads} module loads, other runs {moduleLoads}");
        }
    }

    [GeneratedRegex(@"^null: blocks-translated=\d+ instructions-translated=\d+ kernel-entries=(?<entries>\d+) modules-loaded=(?<modules>\d+) context-switches=(?<switches>\d+)$", RegexOptions.Multiline)]
    private static partial Regex NullLine();

    [SkippableTheory]
    [MemberData(nameof(Rows))]
    public void The_null_tool_sees_the_same_kernel_entries_module_loads_and_context_switches_on_every_tier_and_scope(string commandLine, int cpus)
    {
        string? first = null;
        string firstRun = "";
        foreach (var outcome in runs.Get(commandLine, cpus))
        {
            if (!outcome.Description.Contains("null", StringComparison.Ordinal)) continue;
            var line = NullLine().Match(outcome.ToolOutput);
            Assert.True(line.Success, $"{outcome.Description}: no null line in\n{outcome.ToolOutput}");
            string events = $"kernel-entries={line.Groups["entries"].Value} modules-loaded={line.Groups["modules"].Value} context-switches={line.Groups["switches"].Value}";
            Assert.True(line.Groups["entries"].Value != "0" && line.Groups["modules"].Value != "0" && line.Groups["switches"].Value != "0", $"{outcome.Description}: {events}");
            first ??= events;
            if (firstRun.Length == 0) firstRun = outcome.Description;
            Assert.True(first == events, $"{outcome.Description}: {events}; {firstRun}: {first}");
        }
        Assert.NotNull(first);
    }

    [SkippableTheory]
    [MemberData(nameof(Rows))]
    public void Inscount_counts_every_kernel_instruction_once_in_the_scope_it_belongs_to(string commandLine, int cpus)
    {
        var outcomes = runs.Get(commandLine, cpus);
        var byScope = new Dictionary<InstrumentationScope, List<(ToolRunOutcome Run, InsCountReport Report)>>();
        foreach (var outcome in outcomes)
        {
            if (!outcome.Description.Contains("inscount", StringComparison.Ordinal)) continue;
            var report = outcome.InsCount;
            var scope = ScopeOf(report, outcome);
            if (!byScope.TryGetValue(scope, out var list)) byScope[scope] = list = new();
            list.Add((outcome, report));
            long perModuleSum = 0;
            foreach (var count in report.PerModule.Values) perModuleSum += count;
            Assert.True(report.Kernel + report.Modules == report.Total && perModuleSum == report.Modules,
                $"{outcome.Description}: total {report.Total} kernel {report.Kernel} modules {report.Modules}, per-module sum {perModuleSum}");
            Assert.True(report.PerModule.Count > 0, $"{outcome.Description}: no module counter\n{outcome.ToolOutput}");
        }
        Assert.True(byScope.Count == 3, $"the matrix of {commandLine} --smp {cpus} should run inscount under each scope; it has {string.Join(", ", byScope.Keys)}");

        foreach (var (run, report) in byScope[InstrumentationScope.KernelAndModules])
        {
            Assert.True((ulong)report.Total == run.Result.KernelInstructionsRetired,
                $"{run.Description}: inscount total {report.Total}, the vCPUs retired {run.Result.KernelInstructionsRetired} instructions at CPL 0");
            Assert.True(report.Modules > 0, $"{run.Description}: module code ran but was not counted\n{run.ToolOutput}");
        }
        foreach (var (run, report) in byScope[InstrumentationScope.Kernel])
            Assert.True(report.Modules == 0, $"{run.Description}: kernel scope counted {report.Modules} module instructions");
        foreach (var (run, report) in byScope[InstrumentationScope.Modules])
            Assert.True(report.Kernel == 0, $"{run.Description}: modules scope counted {report.Kernel} kernel instructions");

        // Every run of one scope agrees (whatever the tier), and the two partial scopes add up to the whole.
        var both = SameReports(byScope[InstrumentationScope.KernelAndModules]);
        var kernel = SameReports(byScope[InstrumentationScope.Kernel]);
        var modules = SameReports(byScope[InstrumentationScope.Modules]);
        Assert.True(kernel.Total + modules.Total == both.Total,
            $"kernel scope {kernel.Total} + modules scope {modules.Total} != kernel+modules {both.Total}");
        Assert.Equal(both.Kernel, kernel.Total);
        Assert.Equal(Format(both.PerModule), Format(modules.PerModule));
    }

    /// <summary>The reports of runs of one scope, asserted identical in total and per module; the first.</summary>
    private static InsCountReport SameReports(List<(ToolRunOutcome Run, InsCountReport Report)> runs)
    {
        var (firstRun, first) = runs[0];
        foreach (var (run, report) in runs)
        {
            Assert.True(report.Total == first.Total && report.Kernel == first.Kernel && report.Modules == first.Modules,
                $"{run.Description}: total {report.Total} kernel {report.Kernel} modules {report.Modules}; {firstRun.Description}: {first.Total} {first.Kernel} {first.Modules}");
            Assert.True(Format(report.PerModule) == Format(first.PerModule),
                $"per-module counts differ:\n{run.Description}: {Format(report.PerModule)}\n{firstRun.Description}: {Format(first.PerModule)}");
        }
        return first;
    }

    private static InstrumentationScope ScopeOf(InsCountReport report, ToolRunOutcome run)
    {
        Assert.True(InstrumentationScopeNames.TryParse(report.Scope, out var scope), $"{run.Description}: inscount printed scope={report.Scope}");
        return scope;
    }

    private static string Format(IReadOnlyDictionary<string, long> perModule) =>
        string.Join(' ', perModule.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}"));
}
