using Drk.Dispatcher.Execution;
using Drk.Dispatcher.Jit;
using Drk.Hv;
using Drk.Hv.Boot;

namespace Drk.Dispatcher.Tests.Jit;

/// <summary>
/// The transparency invariant across tiers: the guest kernel's self-tests, booted and run by the
/// run loop, print the same serial output and retire the same number of instructions whether
/// blocks are interpreted, all compiled, or tiered up in the background. Skipped when the guest
/// kernel has not been built (<c>make -C guest</c>).
/// </summary>
public sealed class JitGuestInvariantTests
{
    [SkippableTheory]
    [InlineData("selftest", 1)]
    [InlineData("selftest", 2)]
    public void The_guest_sees_the_same_machine_on_every_tier(string commandLine, int cpus)
    {
        string? root = RepositoryRoot();
        string kernel = Path.Combine(root ?? "", "guest", "build", "kernel.elf");
        string initrd = Path.Combine(root ?? "", "guest", "build", "initrd");
        Skip.IfNot(root is not null && File.Exists(kernel) && File.Exists(initrd), "the guest kernel is not built (make -C guest)");

        // Read once: the guest may be rebuilt while the tiers run.
        byte[] kernelImage = File.ReadAllBytes(kernel);
        byte[] initrdImage = File.ReadAllBytes(initrd);
        var (interpSerial, interpResult) = Run(kernelImage, initrdImage, commandLine, cpus, ExecutionTier.Interpreter, out _);
        foreach (var tier in new[] { ExecutionTier.Jit, ExecutionTier.Auto })
        {
            var (serial, result) = Run(kernelImage, initrdImage, commandLine, cpus, tier, out long compiled);
            string where = $"{commandLine}, {cpus} vCPU(s), {tier}";
            Assert.True(interpResult.Reason == result.Reason && interpResult.ExitStatus == result.ExitStatus,
                $"{where}: {interpResult.Summary} vs {result.Summary}");
            Assert.True(interpResult.InstructionsRetired == result.InstructionsRetired,
                $"{where}: {interpResult.InstructionsRetired} vs {result.InstructionsRetired} instructions");
            Assert.True(interpSerial == serial, $"{where}: serial output differs:\n--- interpreter\n{interpSerial}\n--- {tier}\n{serial}");
            Assert.True(compiled > 0, $"{where}: nothing was compiled");
        }
    }

    private static (string Serial, MachineRunResult Result) Run(byte[] kernel, byte[] initrd, string commandLine, int cpus, ExecutionTier tier, out long blocksCompiled)
    {
        var serial = new MemoryStream();
        using var machine = MachineRunner.CreateMachine(new MachineConfig { CpuCount = cpus, SerialOutput = serial, DiagnosticLog = TextWriter.Null });
        PvhBootLoader.Boot(machine, kernel, new BootOptions { CommandLine = commandLine, Initrd = initrd });
        var runner = new MachineRunner(machine, new MachineRunOptions { Tier = tier, MaxInstructions = 2_000_000_000 });
        var result = runner.Run();
        machine.Serial.Flush();
        // Each vCPU has its own code cache and JIT tier.
        blocksCompiled = 0;
        foreach (var vcpu in runner.Vcpus)
        {
            vcpu.Jit?.WaitForCompilations();
            blocksCompiled += vcpu.Jit?.Statistics.BlocksCompiled ?? 0;
        }
        return (System.Text.Encoding.Latin1.GetString(serial.ToArray()), result);
    }

    private static string? RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Drk.sln"))) return dir.FullName;
        return null;
    }
}
