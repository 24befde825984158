using Drk.Dispatcher.Execution;
using Drk.Dispatcher.Jit;
using Drk.Hv;
using Drk.Hv.Boot;

namespace Drk.Dispatcher.Tests.CodeCache;

/// <summary>
/// The code cache on the real guest kernel: its self-tests (which load and unload modules, switch
/// address spaces, take timer interrupts and IPIs) print the same serial output and retire the
/// same number of instructions with a tiny cache that is flushed over and over, on every tier, as
/// with an unlimited cache on the interpreter. Skipped when the guest is not built (<c>make -C guest</c>).
/// </summary>
public sealed class CodeCacheGuestTests
{
    private const long TinyCache = 4096;

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(2)]
    public void Selftest_with_a_tiny_cache_gives_the_same_output_and_count_on_every_tier(int cpus)
    {
        string? root = RepositoryRoot();
        string kernel = Path.Combine(root ?? "", "guest", "build", "kernel.elf");
        string initrd = Path.Combine(root ?? "", "guest", "build", "initrd");
        Skip.IfNot(root is not null && File.Exists(kernel) && File.Exists(initrd), "the guest kernel is not built (make -C guest)");
        byte[] kernelImage = File.ReadAllBytes(kernel);
        byte[] initrdImage = File.ReadAllBytes(initrd);

        var reference = Run(kernelImage, initrdImage, cpus, ExecutionTier.Interpreter, cacheSize: 0);
        Assert.Equal(MachineStopReason.DebugExit, reference.Result.Reason);
        Assert.Equal(0, reference.Flushes);
        foreach (var tier in new[] { ExecutionTier.Interpreter, ExecutionTier.Jit, ExecutionTier.Auto })
        {
            var tiny = Run(kernelImage, initrdImage, cpus, tier, TinyCache);
            string where = $"{cpus} vCPU(s), {tier}, --cache-size {TinyCache}";
            Assert.True(reference.Result.Reason == tiny.Result.Reason && reference.Result.ExitStatus == tiny.Result.ExitStatus,
                $"{where}: {reference.Result.Summary} vs {tiny.Result.Summary}");
            Assert.True(reference.Result.InstructionsRetired == tiny.Result.InstructionsRetired,
                $"{where}: {reference.Result.InstructionsRetired} vs {tiny.Result.InstructionsRetired} instructions");
            Assert.True(reference.Serial == tiny.Serial, $"{where}: serial output differs:\n--- reference\n{reference.Serial}\n--- tiny cache\n{tiny.Serial}");
            Assert.True(tiny.Flushes > 10, $"{where}: only {tiny.Flushes} flushes");
            Assert.True(tiny.PeakBytes < TinyCache + 4096, $"{where}: the cache held {tiny.PeakBytes} bytes");
        }
    }

    [SkippableFact]
    public void Selftest_runs_most_of_its_instructions_in_traces_on_the_jit_tier_and_links_most_direct_exits()
    {
        string? root = RepositoryRoot();
        string kernel = Path.Combine(root ?? "", "guest", "build", "kernel.elf");
        string initrd = Path.Combine(root ?? "", "guest", "build", "initrd");
        Skip.IfNot(root is not null && File.Exists(kernel) && File.Exists(initrd), "the guest kernel is not built (make -C guest)");

        var run = Run(File.ReadAllBytes(kernel), File.ReadAllBytes(initrd), 1, ExecutionTier.Jit, 0);

        var s = run.Statistics;
        Assert.Equal(MachineStopReason.DebugExit, run.Result.Reason);
        Assert.True(s.TracesBuilt > 10, $"{s.TracesBuilt} traces");
        Assert.True(s.TraceInstructions > s.BlockInstructions, $"{s.TraceInstructions} instructions in traces, {s.BlockInstructions} in blocks");
        Assert.True(s.LinkHitRate > 0.95, $"link hit rate {s.LinkHitRate:P1}");
    }

    private sealed record Outcome(string Serial, MachineRunResult Result, long Flushes, long PeakBytes, DispatchStatistics Statistics);

    private static Outcome Run(byte[] kernel, byte[] initrd, int cpus, ExecutionTier tier, long cacheSize)
    {
        var serial = new MemoryStream();
        using var machine = MachineRunner.CreateMachine(new MachineConfig { CpuCount = cpus, SerialOutput = serial, DiagnosticLog = TextWriter.Null });
        PvhBootLoader.Boot(machine, kernel, new BootOptions { CommandLine = "selftest", Initrd = initrd });
        var runner = new MachineRunner(machine, new MachineRunOptions { Tier = tier, CacheSize = cacheSize, MaxInstructions = 2_000_000_000 });
        var result = runner.Run();
        machine.Serial.Flush();
        long flushes = 0, peak = 0;
        var stats = new DispatchStatistics();
        foreach (var v in runner.Vcpus)
        {
            v.Jit?.WaitForCompilations();
            flushes += v.Cache.Flushes;
            peak = Math.Max(peak, v.Cache.PeakCodeBytes);
            stats.Add(v.Statistics);
        }
        return new Outcome(System.Text.Encoding.Latin1.GetString(serial.ToArray()), result, flushes, peak, stats);
    }

    private static string? RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Drk.sln"))) return dir.FullName;
        return null;
    }
}
