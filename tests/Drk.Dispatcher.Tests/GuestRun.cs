using Drk.Dispatcher.Execution;
using Drk.Hv;
using Drk.Hv.Boot;

namespace Drk.Dispatcher.Tests;

/// <summary>
/// The built guest (guest/build's kernel and initrd) booted and run in process, for the tests that
/// hold tiers, caches and compile timing to the interpreter's results: the serial output, the stop
/// and the retired count must be the same.
/// </summary>
internal static class GuestRun
{
    /// <summary>What a run printed and how it ended.</summary>
    public sealed record Outcome(string Serial, MachineRunResult Result);

    /// <summary>The kernel and initrd, read once per test (the guest may be rebuilt while it runs); skips the test when they are not built.</summary>
    public static (byte[] Kernel, byte[] Initrd) ImagesOrSkip()
    {
        string? root = RepositoryRoot();
        string kernel = Path.Combine(root ?? "", "guest", "build", "kernel.elf");
        string initrd = Path.Combine(root ?? "", "guest", "build", "initrd");
        Skip.IfNot(root is not null && File.Exists(kernel) && File.Exists(initrd), "the guest kernel is not built (make -C guest)");
        return (File.ReadAllBytes(kernel), File.ReadAllBytes(initrd));
    }

    /// <summary>
    /// Boots <paramref name="commandLine"/> on <paramref name="cpus"/> vCPUs and runs it with
    /// <paramref name="options"/>; <paramref name="inspect"/> sees the runner after the run, while
    /// the machine still exists (after waiting for background compilations).
    /// </summary>
    public static Outcome Run(byte[] kernel, byte[] initrd, string commandLine, int cpus, MachineRunOptions options, Action<MachineRunner>? inspect = null)
    {
        var serial = new MemoryStream();
        using var machine = MachineRunner.CreateMachine(new MachineConfig { CpuCount = cpus, SerialOutput = serial, DiagnosticLog = TextWriter.Null });
        PvhBootLoader.Boot(machine, kernel, new BootOptions { CommandLine = commandLine, Initrd = initrd });
        var runner = new MachineRunner(machine, options);
        var result = runner.Run();
        machine.Serial.Flush();
        foreach (var vcpu in runner.Vcpus) vcpu.Jit?.WaitForCompilations();
        inspect?.Invoke(runner);
        return new Outcome(System.Text.Encoding.Latin1.GetString(serial.ToArray()), result);
    }

    /// <summary>Asserts that <paramref name="other"/> ended, counted and printed exactly as <paramref name="reference"/>.</summary>
    public static void AssertSameMachine(Outcome reference, Outcome other, string where)
    {
        Assert.True(reference.Result.Reason == other.Result.Reason && reference.Result.ExitStatus == other.Result.ExitStatus,
            $"{where}: {reference.Result.Summary} vs {other.Result.Summary}");
        Assert.True(reference.Result.InstructionsRetired == other.Result.InstructionsRetired,
            $"{where}: {reference.Result.InstructionsRetired} vs {other.Result.InstructionsRetired} instructions");
        Assert.True(reference.Serial == other.Serial, $"{where}: serial output differs:\n--- reference\n{reference.Serial}\n--- {where}\n{other.Serial}");
    }

    private static string? RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Drk.sln"))) return dir.FullName;
        return null;
    }
}
