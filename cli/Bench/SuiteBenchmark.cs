using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Drk.Dispatcher.Execution;
using Drk.Cli.Running;
using Drk.Dispatcher.Jit;
using Drk.Dispatcher.Tools;
using Drk.Hv;
using Drk.Hv.Boot;

namespace Drk.Cli.Bench;

/// <summary>
/// <c>drk bench</c>: boots the guest kernel once per workload and configuration in this process
/// (the run loop's wall time, boot excluded) and, when installed, in QEMU TCG (the process's wall
/// time, QEMU's start-up included), and checks that every configuration printed the same serial
/// output and retired the same number of instructions.
/// </summary>
internal sealed partial class SuiteBenchmark(string kernel, string? initrd, int cpus)
{
    /// <summary>The rows measured by default: each tier without a tool.</summary>
    public static readonly SuiteConfiguration[] DefaultConfigurations =
    [
        new("interp", ExecutionTier.Interpreter),
        new("jit", ExecutionTier.Jit),
        new("auto", ExecutionTier.Auto),
        new("auto-blocks", ExecutionTier.Auto, Traces: false),
        new("auto+null", ExecutionTier.Auto, Tool: "null"),
        new("auto+inscount", ExecutionTier.Auto, Tool: "inscount"),
        new("auto+inscount-modules", ExecutionTier.Auto, Tool: "inscount", Scope: InstrumentationScope.Modules),
    ];

    private readonly byte[] _kernel = File.ReadAllBytes(kernel);
    private readonly byte[]? _initrd = initrd is null ? null : File.ReadAllBytes(initrd);

    /// <summary>Runs <paramref name="workload"/> under <paramref name="configuration"/> in process.</summary>
    public SuiteRun RunDrk(SuiteWorkload workload, SuiteConfiguration configuration, MachineRunOptions? options = null)
    {
        var serial = new MemoryStream();
        using var machine = MachineRunner.CreateMachine(new MachineConfig
        {
            RamSize = 256UL << 20,
            CpuCount = cpus,
            SerialOutput = serial,
            DiagnosticLog = TextWriter.Null,
        });
        PvhBootLoader.Boot(machine, _kernel, new BootOptions { CommandLine = workload.CommandLine, Initrd = _initrd });
        ToolHost? tools = null;
        if (configuration.Tool is { } toolName)
        {
            if (!ToolCatalog.TryCreate([toolName], out var made, out var error)) throw new ArgumentException(error);
            tools = ToolHostFactory.Create(_kernel, made, configuration.Scope, TextWriter.Null, TextWriter.Null);
        }
        var runner = new MachineRunner(machine, options ?? new MachineRunOptions { Tier = configuration.Tier, Traces = configuration.Traces, Tools = tools });
        // Every row starts from a collected heap: the previous row's garbage (its machine, its
        // dynamic methods) is not collected on this row's time. Without this a short row after a
        // long one paid for it (null-syscall with the null tool: 1.16-1.26x in the suite, 1.04x alone).
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var self = Process.GetCurrentProcess();
        var cpuBefore = self.TotalProcessorTime;
        var result = runner.Run();
        foreach (var v in runner.Vcpus) v.Jit?.WaitForCompilations();
        self.Refresh();
        var cpu = self.TotalProcessorTime - cpuBefore;
        machine.Serial.Flush();
        var compile = TimeSpan.Zero;
        foreach (var v in runner.Vcpus) compile += v.Jit?.Statistics.CompileTime ?? TimeSpan.Zero;
        bool ok = result.Reason == MachineStopReason.DebugExit && result.ExitStatus == 0;
        return new SuiteRun(result.Elapsed, cpu, result.InstructionsRetired, compile, Normalize(Encoding.UTF8.GetString(serial.ToArray())), ok,
            ok ? "" : $"{result.ReasonName} {result.ExitStatus}: {result.Summary}");
    }

    /// <summary>The QEMU binary on PATH, or null.</summary>
    public static string? FindQemu()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            if (dir.Length == 0) continue;
            string path = Path.Combine(dir, "qemu-system-x86_64");
            if (File.Exists(path)) return path;
        }
        return null;
    }

    /// <summary>Runs <paramref name="workload"/> in QEMU TCG (<c>-M microvm</c>, the PVH entry); the wall time is the whole process's.</summary>
    public SuiteRun RunQemu(string qemu, SuiteWorkload workload)
    {
        var info = new ProcessStartInfo(qemu)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-M", "microvm", "-nographic", "-no-reboot", "-m", "256M", "-smp", cpus.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-kernel", kernel, "-append", workload.CommandLine })
            info.ArgumentList.Add(a);
        if (initrd is not null)
        {
            info.ArgumentList.Add("-initrd");
            info.ArgumentList.Add(initrd);
        }
        var childrenBefore = ChildCpuTime.Now();
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            process.Kill(entireProcessTree: true);
            return new SuiteRun(watch.Elapsed, TimeSpan.Zero, 0, TimeSpan.Zero, "", false, "timeout");
        }
        watch.Stop();
        var cpu = ChildCpuTime.Now() - childrenBefore ?? TimeSpan.Zero;
        string output = stdout.Result.Replace("\r", "", StringComparison.Ordinal);
        // isa-debug-exit: the guest's status v becomes 2v + 1.
        bool ok = process.ExitCode == 1;
        return new SuiteRun(watch.Elapsed, cpu, 0, TimeSpan.Zero, Normalize(output), ok, ok ? "" : $"exit {process.ExitCode}: {stderr.Result.Trim()}");
    }

    /// <summary>Serial output without what may differ between runs of the same guest: timing lines, cycle counts, and the machine description lines ([m]: memory map, CPUs), which differ between Drk and QEMU.</summary>
    public static string Normalize(string output)
    {
        var b = new StringBuilder();
        // QEMU's -nographic console wraps the output in terminal control sequences.
        output = Escapes().Replace(output, "").Replace("\r", "", StringComparison.Ordinal);
        foreach (var line in output.Split('\n'))
        {
            if (line.StartsWith("[t]", StringComparison.Ordinal) || line.StartsWith("[m]", StringComparison.Ordinal)) continue;
            b.Append(Cycles().Replace(line, "cycles=*")).Append('\n');
        }
        return b.ToString();
    }

    [GeneratedRegex(@"\x1b\[[0-9;?]*[A-Za-z]|\x1bc")]
    private static partial Regex Escapes();

    [GeneratedRegex(@"cycles=\d+")]
    private static partial Regex Cycles();
}
