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
    public static IReadOnlyList<Option> Options() => [KernelOption, InitrdOption, WorkloadsOption, ConfigurationsOption, SmpOption, NoQemuOption];

    private static readonly Option<string> KernelOption = new("--kernel") { Description = "The guest kernel", DefaultValueFactory = _ => "guest/build/kernel.elf" };
    private static readonly Option<string> InitrdOption = new("--initrd") { Description = "The initrd", DefaultValueFactory = _ => "guest/build/initrd" };
    private static readonly Option<string> WorkloadsOption = new("--workloads") { Description = "Comma-separated workloads (compute-user, compute-module, null-syscall, run=all, or any run= program)", DefaultValueFactory = _ => "compute-user,compute-module,null-syscall,run=all" };
    private static readonly Option<string> ConfigurationsOption = new("--configurations", "-c") { Description = "Comma-separated rows: interp, jit, auto, auto-blocks, auto+null, auto+inscount, auto+inscount-modules", DefaultValueFactory = _ => "interp,jit,auto,auto-blocks,auto+null,auto+inscount,auto+inscount-modules" };
    private static readonly Option<int> SmpOption = new("--smp") { Description = "vCPUs", DefaultValueFactory = _ => 1 };
    private static readonly Option<bool> NoQemuOption = new("--no-qemu") { Description = "Do not run QEMU even when it is installed" };

    public static int Run(ParseResult parse)
    {
        var c = CultureInfo.InvariantCulture;
        string kernel = parse.GetValue(KernelOption)!;
        string initrd = parse.GetValue(InitrdOption)!;
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

        Console.WriteLine($"drk bench: {workloads.Count} workloads x {configurations.Count} configurations, {cpus} vCPU(s); QEMU: {(qemu ?? "not run")}");
        Console.WriteLine("wall = the run loop's time (boot and process start excluded); QEMU wall = the whole qemu process");
        Console.WriteLine();
        Console.WriteLine($"{"workload",-16} {"config",-22} {"wall s",8} {"cpu s",8} {"MIPS",8} {"compile ms",11} {"compile%",9} {"vs interp",10} {"vs no tool",10} {"vs QEMU",8} {"cpu vs QEMU",11}  same");
        // One unreported run first, so the first row does not pay for compiling Drk itself (and its tools).
        foreach (var configuration in configurations)
            if (configuration == configurations[0] || !configuration.IsBaseline) bench.RunDrk(workloads[0], configuration);
        int status = 0;
        foreach (var workload in workloads)
        {
            SuiteRun? qemuRun = qemu is null ? null : bench.RunQemu(qemu, workload);
            SuiteRun? reference = null;
            double interpWall = 0;
            var toolless = new Dictionary<(Dispatcher.Jit.ExecutionTier, bool), SuiteRun>();
            foreach (var configuration in configurations)
            {
                var run = bench.RunDrk(workload, configuration);
                reference ??= run;
                if (configuration.Tier == Dispatcher.Jit.ExecutionTier.Interpreter && configuration.IsBaseline) interpWall = run.Wall.TotalSeconds;
                if (configuration.IsBaseline) toolless.TryAdd((configuration.Tier, configuration.Traces), run);
                // A tool's slowdown: CPU time over the same tier's run without a tool (steadier than wall time on a shared machine).
                string vsNoTool = !configuration.IsBaseline && toolless.TryGetValue((configuration.Tier, configuration.Traces), out var bare) && bare.Cpu > TimeSpan.Zero
                    ? string.Create(c, $"{run.Cpu.TotalSeconds / bare.Cpu.TotalSeconds:F2}x") : "-";
                bool same = run.Succeeded && run.Output == reference.Output && run.Instructions == reference.Instructions;
                if (!same) status = 1;
                string vsInterp = interpWall > 0 ? string.Create(c, $"{interpWall / run.Wall.TotalSeconds:F2}x") : "-";
                string vsQemu = qemuRun is { Succeeded: true } q ? string.Create(c, $"{run.Wall.TotalSeconds / q.Wall.TotalSeconds:F2}") : "-";
                string cpuVsQemu = qemuRun is { Succeeded: true } q2 && q2.Cpu > TimeSpan.Zero ? string.Create(c, $"{run.Cpu.TotalSeconds / q2.Cpu.TotalSeconds:F2}") : "-";
                double share = run.Wall.Ticks > 0 ? 100.0 * run.CompileTime.Ticks / run.Wall.Ticks : 0;
                Console.WriteLine(string.Create(c,
                    $"{workload.Name,-16} {configuration.Name,-22} {run.Wall.TotalSeconds,8:F3} {run.Cpu.TotalSeconds,8:F3} {run.Mips,8:F1} {run.CompileTime.TotalMilliseconds,11:F1} {share,8:F1}% {vsInterp,10} {vsNoTool,10} {vsQemu,8} {cpuVsQemu,11}  {(same ? "yes" : "NO " + run.Failure)}"));
            }
            if (qemuRun is not null)
            {
                bool qemuSame = qemuRun.Succeeded && reference is not null && qemuRun.Output == reference.Output;
                Console.WriteLine(string.Create(c,
                    $"{workload.Name,-16} {"qemu-tcg",-22} {qemuRun.Wall.TotalSeconds,8:F3} {qemuRun.Cpu.TotalSeconds,8:F3} {"",8} {"",11} {"",9} {"",10} {"",10} {"1.00",8} {"1.00",11}  {(qemuRun.Succeeded ? (qemuSame ? "yes" : "output differs") : "NO " + qemuRun.Failure)}"));
            }
        }
        Console.WriteLine();
        Console.WriteLine("same: the serial output (without [t] and [m] lines and cycles=) and the retired-instruction count equal the first row's; for QEMU the output only");
        Console.WriteLine("vs QEMU: drk wall / QEMU wall (below 1: faster than QEMU TCG); cpu vs QEMU: the same with CPU time (all threads; steadier on a loaded machine)");
        Console.WriteLine("vs no tool: CPU time over the same tier's row without a tool (the tool's slowdown)");
        Console.WriteLine("compile% = JIT compile time (on the compiler thread) / wall; auto-blocks = auto without traces");
        return status;
    }
}
