using System.CommandLine;
using System.Globalization;
using Drk.Cli.Bench;

namespace Drk.Cli.Commands;

/// <summary>
/// <c>drk bench</c> / <c>drk bench suite</c>: guest workloads on every configuration (tiers, later
/// tools) and in QEMU TCG, measured in one run: guest MIPS, JIT compile time and its share, the
/// wall time against QEMU's, and whether every configuration printed the same thing and retired
/// the same number of instructions.
/// </summary>
internal static class BenchSuiteCommand
{
    public static Command Create()
    {
        var command = new Command("suite", "Guest workloads on each tier and in QEMU TCG: MIPS, compile time, wall time against QEMU (the default of drk bench)");
        foreach (var o in Options()) command.Options.Add(o);
        command.SetAction(Run);
        return command;
    }

    /// <summary>The options, shared with <c>drk bench</c> itself (which runs the suite).</summary>
    public static IReadOnlyList<Option> Options() => [KernelOption, InitrdOption, WorkloadsOption, ConfigurationsOption, SmpOption, NoQemuOption, RunsOption];

    private static readonly Option<string> KernelOption = new("--kernel") { Description = "The guest kernel", DefaultValueFactory = _ => "guest/build/kernel.elf" };
    private static readonly Option<string> InitrdOption = new("--initrd") { Description = "The initrd", DefaultValueFactory = _ => "guest/build/initrd" };
    private static readonly Option<string> WorkloadsOption = new("--workloads") { Description = "Comma-separated workloads (compute-user, compute-module, null-syscall, run=all, or any run= program)", DefaultValueFactory = _ => "compute-user,compute-module,null-syscall,run=all" };
    private static readonly Option<string> ConfigurationsOption = new("--configurations", "-c") { Description = "Comma-separated rows: interp, jit, auto, auto-blocks, auto+null, auto+inscount, auto+inscount-modules", DefaultValueFactory = _ => "interp,jit,auto,auto-blocks,auto+null,auto+inscount,auto+inscount-modules" };
    private static readonly Option<int> SmpOption = new("--smp") { Description = "vCPUs", DefaultValueFactory = _ => 1 };
    private static readonly Option<bool> NoQemuOption = new("--no-qemu") { Description = "Do not run QEMU even when it is installed" };
    private static readonly Option<int> RunsOption = new("--runs") { Description = "Rounds per workload (every configuration in each, each beside a QEMU run of its own): the table shows medians, and the range of the ratio to QEMU", DefaultValueFactory = _ => 1 };

    public static int Run(ParseResult parse)
    {
        var c = CultureInfo.InvariantCulture;
        string kernel = parse.GetValue(KernelOption)!;
        string initrd = parse.GetValue(InitrdOption)!;
        int rounds = parse.GetValue(RunsOption);
        if (rounds < 1)
        {
            Console.Error.WriteLine($"drk bench: --runs must be at least 1 (got {rounds})");
            return 64;
        }
        if (!File.Exists(kernel) || !File.Exists(initrd))
        {
            Console.Error.WriteLine($"drk bench: {kernel} or {initrd} is missing (make -C guest)");
            return 66;
        }
        var workloads = new List<SuiteWorkload>();
        foreach (var name in parse.GetValue(WorkloadsOption)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            workloads.Add(Array.Find(SuiteWorkload.Defaults, w => w.Name == name) ?? new SuiteWorkload(name, name.StartsWith("run=", StringComparison.Ordinal) ? name : "run=" + name));
        var configurations = new List<SuiteConfiguration>();
        foreach (var name in parse.GetValue(ConfigurationsOption)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var configuration = Array.Find(SuiteBenchmark.DefaultConfigurations, x => x.Name == name);
            if (configuration is null)
            {
                Console.Error.WriteLine($"drk bench: no configuration '{name}' ({string.Join(", ", SuiteBenchmark.DefaultConfigurations.Select(x => x.Name))})");
                return 64;
            }
            configurations.Add(configuration);
        }
        int cpus = parse.GetValue(SmpOption);
        string? qemu = parse.GetValue(NoQemuOption) ? null : SuiteBenchmark.FindQemu();
        var bench = new SuiteBenchmark(kernel, initrd, cpus);

        Console.WriteLine($"drk bench: {workloads.Count} workloads x {configurations.Count} configurations, {cpus} vCPU(s), {rounds} round(s); QEMU: {(qemu ?? "not run")}");
        Console.WriteLine("wall = the run loop's time (boot and process start excluded); QEMU wall = the whole qemu process");
        if (qemu is not null) Console.WriteLine("every drk run has a QEMU run beside it (before it in odd rounds, after it in even ones): its ratio to QEMU divides by that run");
        if (rounds > 1) Console.WriteLine("medians of the rounds; ratios are the median of each round's ratio, and QEMU range the lowest and highest of them");
        Console.WriteLine();
        Console.WriteLine($"{"workload",-16} {"config",-22} {"wall s",8} {"cpu s",8} {"MIPS",8} {"compile ms",11} {"compile%",9} {"vs interp",10} {"vs no tool",10} {"vs QEMU",8} {"cpu vs QEMU",11}  same{(rounds > 1 ? "  QEMU range" : "")}");
        // One unreported run first, so the first row does not pay for compiling Drk itself (and its tools).
        foreach (var configuration in configurations)
            if (configuration == configurations[0] || !configuration.IsBaseline) bench.RunDrk(workloads[0], configuration);
        int status = 0;
        foreach (var workload in workloads)
        {
            // Rounds alternate the configurations, so that a slow spell of the machine falls on all
            // of them rather than on one, and each configuration's run has a QEMU run of its own
            // right beside it (before it in odd rounds, after it in even ones), which its ratio
            // to QEMU divides by: this machine's speed drifts over seconds (a fixed native loop
            // took 0.043-0.105 s in one minute), and a shared QEMU run at the start of the round
            // was seconds away from the rows after the interpreter's.
            var runs = new List<SuiteRun>[configurations.Count];
            var qemuBeside = new List<SuiteRun>[configurations.Count];
            for (int k = 0; k < runs.Length; k++) (runs[k], qemuBeside[k]) = (new List<SuiteRun>(), new List<SuiteRun>());
            for (int round = 0; round < rounds; round++)
                for (int k = 0; k < configurations.Count; k++)
                {
                    bool qemuFirst = round % 2 == 0;
                    if (qemu is not null && qemuFirst) qemuBeside[k].Add(bench.RunQemu(qemu, workload));
                    runs[k].Add(bench.RunDrk(workload, configurations[k]));
                    if (qemu is not null && !qemuFirst) qemuBeside[k].Add(bench.RunQemu(qemu, workload));
                }
            var qemuRuns = qemuBeside.SelectMany(q => q).ToList();
            var reference = runs[0][0];
            int interp = configurations.FindIndex(x => x.Tier == Dispatcher.Jit.ExecutionTier.Interpreter && x.IsBaseline);
            for (int k = 0; k < configurations.Count; k++)
            {
                var configuration = configurations[k];
                var mine = runs[k];
                // A tool's slowdown: CPU time over the same tier's runs without a tool (steadier than wall time on a shared machine).
                int bare = configuration.IsBaseline ? -1 : configurations.FindIndex(x => x.IsBaseline && x.Tier == configuration.Tier && x.Traces == configuration.Traces);
                string vsNoTool = bare >= 0 ? Ratio(c, RoundRatios(mine, runs[bare], r => r.Cpu), "x") : "-";
                bool same = mine.TrueForAll(run => run.Succeeded && run.Output == reference.Output && run.Instructions == reference.Instructions);
                if (!same) status = 1;
                string vsInterp = interp >= 0 ? Ratio(c, RoundRatios(runs[interp], mine, r => r.Wall), "x") : "-";
                bool qemuOk = qemuBeside[k].Count > 0 && qemuBeside[k].TrueForAll(q => q.Succeeded);
                var vsQemuRatios = qemuOk ? RoundRatios(mine, qemuBeside[k], r => r.Wall) : [];
                string vsQemu = qemuOk ? Ratio(c, vsQemuRatios, "") : "-";
                string cpuVsQemu = qemuOk ? Ratio(c, RoundRatios(mine, qemuBeside[k], r => r.Cpu), "") : "-";
                string range = rounds > 1 && qemuOk ? string.Create(c, $"  {vsQemuRatios.Min():F2}-{vsQemuRatios.Max():F2}") : "";
                var failed = mine.Find(run => !run.Succeeded);
                double wall = Median(mine, r => r.Wall.TotalSeconds), compile = Median(mine, r => r.CompileTime.TotalMilliseconds);
                double mips = Median(mine, r => r.Mips);
                double share = wall > 0 ? 100.0 * compile / 1000 / wall : 0;
                Console.WriteLine(string.Create(c,
                    $"{workload.Name,-16} {configuration.Name,-22} {wall,8:F3} {Median(mine, r => r.Cpu.TotalSeconds),8:F3} {mips,8:F1} {compile,11:F1} {share,8:F1}% {vsInterp,10} {vsNoTool,10} {vsQemu,8} {cpuVsQemu,11}  {(same ? "yes" : "NO " + (failed?.Failure ?? "output or count differs"))}{range}"));
            }
            if (qemuRuns.Count > 0)
            {
                bool qemuSame = qemuRuns.TrueForAll(q => q.Succeeded && q.Output == reference.Output);
                var qemuFailed = qemuRuns.Find(q => !q.Succeeded);
                Console.WriteLine(string.Create(c,
                    $"{workload.Name,-16} {"qemu-tcg",-22} {Median(qemuRuns, r => r.Wall.TotalSeconds),8:F3} {Median(qemuRuns, r => r.Cpu.TotalSeconds),8:F3} {"",8} {"",11} {"",9} {"",10} {"",10} {"1.00",8} {"1.00",11}  {(qemuFailed is null ? (qemuSame ? "yes" : "output differs") : "NO " + qemuFailed.Failure)}  {qemuRuns.Count} runs"));
            }
        }
        Console.WriteLine();
        Console.WriteLine("same: the serial output (without [t] and [m] lines and cycles=) and the retired-instruction count equal the first row's; for QEMU the output only");
        Console.WriteLine("vs QEMU: drk wall / QEMU wall (below 1: faster than QEMU TCG); cpu vs QEMU: the same with CPU time (all threads; steadier on a loaded machine)");
        Console.WriteLine("vs no tool: CPU time over the same tier's row without a tool (the tool's slowdown)");
        Console.WriteLine("compile% = JIT compile time (on the compiler thread) / wall; auto-blocks = auto without traces");
        return status;
    }

    /// <summary>Round by round, <paramref name="over"/>'s value over <paramref name="under"/>'s.</summary>
    private static List<double> RoundRatios(List<SuiteRun> over, List<SuiteRun> under, Func<SuiteRun, TimeSpan> value)
    {
        var ratios = new List<double>(over.Count);
        for (int i = 0; i < over.Count && i < under.Count; i++)
            if (value(under[i]) > TimeSpan.Zero) ratios.Add(value(over[i]).TotalSeconds / value(under[i]).TotalSeconds);
        return ratios;
    }

    private static string Ratio(CultureInfo c, List<double> ratios, string unit) =>
        ratios.Count == 0 ? "-" : string.Create(c, $"{MathNet.Numerics.Statistics.Statistics.Median(ratios):F2}{unit}");

    private static double Median(List<SuiteRun> runs, Func<SuiteRun, double> value) =>
        MathNet.Numerics.Statistics.Statistics.Median(runs.Select(value));
}
