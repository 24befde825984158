using System.Globalization;
using Drk.Dispatcher.Execution;
using Drk.Dispatcher.Jit;
using Drk.Dispatcher.Tools;
using Drk.Hv;
using Drk.Hv.Boot;

namespace Drk.Cli.Running;

/// <summary>
/// One <c>drk run</c>: reads the inputs, builds and boots the machine, runs it to the end, prints
/// the statistics and (for a stop the guest did not ask for) the dump on standard error, and
/// answers the exit status (<see cref="RunExitStatus"/>).
/// </summary>
internal sealed class GuestSession(RunSettings settings, TextWriter stderr)
{
    /// <summary>Runs the session; every failure is one line on standard error and a documented status.</summary>
    public int Execute()
    {
        if (!TryRead(settings.Kernel, "kernel", out var kernel, out int status)) return status;
        byte[]? initrd = null;
        if (settings.Initrd is { } initrdPath && !TryRead(initrdPath, "initrd", out initrd, out status)) return status;

        Stream? serialIn = null;
        Stream? serialOut = null;
        try
        {
            if (settings.SerialIn is { } inPath)
            {
                try { serialIn = inPath == "-" ? Console.OpenStandardInput() : File.OpenRead(inPath); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
                {
                    return Fail(RunExitStatus.NoInput, $"cannot read serial input {inPath}: {e.Message}");
                }
            }
            try
            {
                serialOut = settings.SerialOut is { } outPath
                    ? new FileStream(outPath, FileMode.Create, FileAccess.Write, FileShare.Read)
                    : new BufferedStream(Console.OpenStandardOutput(), 1 << 16);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                return Fail(RunExitStatus.CannotCreateOutput, $"cannot create serial output {settings.SerialOut}: {e.Message}");
            }
            return Run(kernel, initrd, serialIn, serialOut);
        }
        catch (OutOfMemoryException)
        {
            return Fail(RunExitStatus.HostOutOfMemory, $"the host cannot provide {settings.MemoryBytes >> 20} MiB of guest RAM (try a smaller --memory)");
        }
        catch (Exception e)
        {
            // The run loop turns its own failures into a stop with a dump; this is what is left
            // (the loader, a stream): still one line and a status, not a stack trace.
            return Fail(RunExitStatus.InternalError, $"internal error: {e.GetType().Name}: {e.Message}");
        }
        finally
        {
            serialOut?.Dispose();
            serialIn?.Dispose();
        }
    }

    private int Run(byte[] kernel, byte[]? initrd, Stream? serialIn, Stream serialOut)
    {
        using var machine = MachineRunner.CreateMachine(new MachineConfig
        {
            RamSize = settings.MemoryBytes,
            CpuCount = settings.Cpus,
            SerialOutput = serialOut,
            SerialInput = serialIn,
            DiagnosticLog = stderr,
        });
        try
        {
            PvhBootLoader.Boot(machine, kernel, new BootOptions { CommandLine = settings.CommandLine, Initrd = initrd });
        }
        catch (BootException e)
        {
            return Fail(RunExitStatus.BadImage, $"cannot boot {settings.Kernel}: {e.Message}");
        }

        TextWriter? reportFile = null;
        if (settings.ReportPath is { } reportPath)
        {
            try { reportFile = new StreamWriter(reportPath); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                return Fail(RunExitStatus.CannotCreateOutput, $"cannot create report file {reportPath}: {e.Message}");
            }
        }
        using var reportOwner = reportFile;
        var tools = settings.Tools.Count > 0 || reportFile is not null ? ToolHostFactory.Create(kernel, settings.Tools, settings.Scope, stderr, stderr, reportFile) : null;
        var runner = new MachineRunner(machine, new MachineRunOptions { MaxInstructions = settings.MaxInstructions, Tier = settings.Tier, CacheSize = settings.CacheSize, Tools = tools, SampleTiers = settings.Stats });
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            // The run loop polls the stop request at block boundaries and ends with a dump.
            e.Cancel = true;
            machine.Stop.Request(MachineStopReason.Host, 0, "stopped by the host (Ctrl-C)");
        };
        Console.CancelKeyPress += onCancel;
        MachineRunResult result;
        try
        {
            result = runner.Run();
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
        machine.Serial.Flush();

        int status = StatusOf(result);
        if (result.Reason != MachineStopReason.DebugExit)
        {
            stderr.WriteLine($"drk run: {result.Summary}");
            stderr.Write(result.Dump);
        }
        if (settings.Stats) PrintStats(runner, result, status, tools);
        stderr.Flush();
        return status;
    }

    /// <summary>The exit status for how the run ended.</summary>
    public static int StatusOf(MachineRunResult result) => result.Reason switch
    {
        // The guest's value as written; an exit status holds 8 bits.
        MachineStopReason.DebugExit => result.ExitStatus & 0xFF,
        MachineStopReason.TripleFault => RunExitStatus.TripleFault,
        MachineStopReason.Budget => RunExitStatus.MaxInstructions,
        MachineStopReason.Deadlock => RunExitStatus.Deadlock,
        MachineStopReason.Host => RunExitStatus.HostStop,
        MachineStopReason.FaultLoop => RunExitStatus.FaultLoop,
        _ => RunExitStatus.InternalError,
    };

    private void PrintStats(MachineRunner runner, MachineRunResult result, int status, ToolHost? tools)
    {
        var c = CultureInfo.InvariantCulture;
        stderr.WriteLine($"tier: {TierName(settings.Tier)}");
        stderr.WriteLine(string.Create(c, $"instructions: {result.InstructionsRetired}"));
        stderr.WriteLine(string.Create(c, $"kernel-instructions: {result.KernelInstructionsRetired}"));
        if (tools is not null)
        {
            stderr.WriteLine($"tools: {string.Join(",", tools.Tools.Select(t => t.Name))} scope={InstrumentationScopeNames.Name(settings.Scope)}");
            stderr.WriteLine(string.Create(c, $"blocks-instrumented: {tools.BlocksInstrumented}"));
            stderr.WriteLine(string.Create(c, $"blocks-out-of-scope: {tools.BlocksOutOfScope}"));
            stderr.WriteLine(string.Create(c, $"module-loads: {tools.ModuleLoads}"));
        }
        stderr.WriteLine(string.Create(c, $"blocks-built: {result.BlocksBuilt}"));
        stderr.WriteLine(string.Create(c, $"blocks-run: {result.BlocksRun}"));
        stderr.WriteLine(string.Create(c, $"fragments-invalidated: {result.FragmentsInvalidated}"));
        if (settings.Tier != ExecutionTier.Interpreter)
        {
            long compiled = 0;
            foreach (var vcpu in runner.Vcpus) compiled += vcpu.Jit?.Statistics.BlocksCompiled ?? 0;
            stderr.WriteLine(string.Create(c, $"blocks-compiled: {compiled}"));
        }
        foreach (var line in CodeCacheReport.Lines(runner, result.Elapsed)) stderr.WriteLine(line);
        stderr.WriteLine(string.Create(c, $"wall-seconds: {result.Elapsed.TotalSeconds:F3}"));
        stderr.WriteLine(string.Create(c, $"mips: {result.Mips:F1}"));
        stderr.WriteLine($"exit-reason: {result.ReasonName}");
        stderr.WriteLine(string.Create(c, $"exit-status: {status}"));
        if (result.Reason == MachineStopReason.DebugExit)
            stderr.WriteLine(string.Create(c, $"guest-status: {result.ExitStatus}"));
    }

    private static string TierName(ExecutionTier tier) => tier switch
    {
        ExecutionTier.Jit => "jit",
        ExecutionTier.Auto => "auto",
        _ => "interp",
    };

    private bool TryRead(string path, string what, out byte[] bytes, out int status)
    {
        bytes = [];
        status = 0;
        try
        {
            bytes = File.ReadAllBytes(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            status = Fail(RunExitStatus.NoInput, $"cannot read {what} {path}: {e.Message}");
            return false;
        }
    }

    private int Fail(int status, string message)
    {
        stderr.WriteLine($"drk run: {message}");
        return status;
    }
}
