using Drk.Dispatcher.Execution;
using Drk.Dispatcher.Jit;
using Drk.Dispatcher.Symbols;
using Drk.Dispatcher.Tools;
using Drk.Hv;
using Drk.Hv.Boot;
using Drk.Tools.InsCount;
using Drk.Tools.Null;

namespace Drk.EndToEnd.Tests;

/// <summary>
/// Boots the guest and runs it to the end in this process, with tools hosted the way
/// <c>drk run --tool</c> hosts them (cli/Running/GuestSession.cs): the kernel's symbols find
/// <c>drk_module_event</c> and wrapped functions, the tools print to a captured writer.
/// </summary>
public static class InProcessRun
{
    /// <summary>A bound far above any test run, so a hang ends as a budget stop instead of a test timeout.</summary>
    public const ulong MaxInstructions = 2_000_000_000;

    /// <summary>Runs <paramref name="commandLine"/> on <paramref name="cpus"/> vCPUs under <paramref name="configuration"/>.</summary>
    public static ToolRunOutcome Run(GuestImages images, string commandLine, int cpus, ToolConfiguration configuration)
    {
        var tools = new List<ITool>();
        foreach (var name in configuration.Tools)
        {
            tools.Add(name switch
            {
                "null" => new NullTool(),
                "inscount" => new InsCountTool(),
                _ => throw new ArgumentException($"no built-in tool {name}", nameof(configuration)),
            });
        }
        string description = $"{commandLine}, --smp {cpus}, {configuration}";
        return Run(images, commandLine, cpus, configuration.Tier, tools.Count == 0 ? null : tools, configuration.Scope, description);
    }

    /// <summary>Runs with the given tool instances (null: no tool host at all, as <c>drk run</c> without <c>--tool</c>).</summary>
    public static ToolRunOutcome Run(GuestImages images, string commandLine, int cpus, ExecutionTier tier, IReadOnlyList<ITool>? tools,
        InstrumentationScope scope, string description)
    {
        var serial = new MemoryStream();
        var toolOutput = new StringWriter();
        using var machine = MachineRunner.CreateMachine(new MachineConfig { CpuCount = cpus, SerialOutput = serial, DiagnosticLog = TextWriter.Null });
        PvhBootLoader.Boot(machine, images.Kernel, new BootOptions { CommandLine = commandLine, Initrd = images.Initrd });
        ToolHost? host = null;
        if (tools is not null)
        {
            var symbols = Symbolizer.ForKernel(images.Kernel);
            host = new ToolHost(tools, new ToolHostOptions
            {
                Scope = scope,
                Symbolizer = symbols,
                FindFunction = name => FindFunction(symbols, name),
                Output = toolOutput,
            });
        }
        var runner = new MachineRunner(machine, new MachineRunOptions { Tier = tier, MaxInstructions = MaxInstructions, Tools = host });
        var result = runner.Run();
        machine.Serial.Flush();
        foreach (var vcpu in runner.Vcpus) vcpu.Jit?.WaitForCompilations();
        return new ToolRunOutcome(description, System.Text.Encoding.Latin1.GetString(serial.ToArray()), result, toolOutput.ToString(),
            host?.BlocksInstrumented ?? 0, host?.BlocksOutOfScope ?? 0, host?.ModuleLoads ?? 0);
    }

    /// <summary>A kernel function by name, as the CLI finds it for function wraps.</summary>
    public static GuestFunction? FindFunction(Symbolizer symbols, string name)
    {
        foreach (var symbol in symbols.Kernel.Symbols.Symbols)
            if (symbol.IsFunction && symbol.Name == name) return new GuestFunction(name, symbol.Address, symbol.Size);
        return null;
    }
}
