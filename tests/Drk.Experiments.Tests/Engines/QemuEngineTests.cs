using Drk.Experiments.Engines;
using Drk.Experiments.Matrix;
using Drk.Experiments.Recording;
using Drk.Experiments.Running;
using Drk.Experiments.Specs;
using Drk.Experiments.Tests.Fakes;
using Drk.Experiments.Tests.Running;

namespace Drk.Experiments.Tests.Engines;

/// <summary>The QEMU engine against a real QEMU, with the stub kernel as guest.</summary>
public sealed class QemuEngineTests : IDisposable
{
    private readonly TempExperiment _repo = new();

    public void Dispose() => _repo.Dispose();

    private static RunRequest Request(string kernel) => new(
        new Variant("qemu-tcg", "", "", "", 1), new WorkloadSpec("stub", "iterations=3"),
        new GuestImage(kernel, null, "", "64M"), "run=stub iterations=3", TimeSpan.FromSeconds(60), null, null);

    [SkippableFact]
    public async Task Qemu_tcg_boots_a_guest_and_reads_its_status_and_result()
    {
        var (kernel, missing) = await StubKernel.GetAsync();
        Skip.If(kernel is null, missing);

        var outcome = await new QemuEngine(EngineKind.QemuTcg).RunAsync(Request(kernel!), CancellationToken.None);

        Assert.Null(outcome.EngineFailure);
        Assert.Equal(1, outcome.ExitCode);
        Assert.Equal(0, outcome.GuestStatus);
        Assert.Contains("cmdline: run=stub iterations=3", outcome.Output);
        var result = Assert.Single(GuestResultParser.ParseAll(outcome.Output));
        Assert.Equal(("stub", "0x2a"), (result.Workload, result.Checksum));
        Assert.True(result.Cycles > 0);
    }

    [SkippableFact]
    public async Task A_kernel_qemu_cannot_load_is_an_engine_failure_not_a_guest_status()
    {
        Skip.If(ExecutableSearch.Find("qemu-system-x86_64") is null, "QEMU is not installed");
        var garbage = Path.Combine(_repo.Root, "guest", "build", "kernel.elf");

        var outcome = await new QemuEngine(EngineKind.QemuTcg).RunAsync(Request(garbage), CancellationToken.None);

        Assert.Null(outcome.GuestStatus);
        Assert.Equal("qemu: invalid kernel header", outcome.EngineFailure);
    }

    [SkippableFact]
    public async Task An_experiment_on_qemu_tcg_runs_end_to_end()
    {
        var (kernel, missing) = await StubKernel.GetAsync();
        Skip.If(kernel is null, missing);
        var spec = SpecLoader.Load(_repo.WriteSpec("stub", $"""
            guest:
              kernel: {kernel}
              memory: 64M
            workloads:
              - {"{"}name: stub, args: iterations=3{"}"}
            engines: [qemu-tcg]
            repetitions: 2
            timeout: 60s
            """));
        var runner = new ExperimentRunner(EngineCatalog.Default(new DrkLauncher("/nonexistent", [])), new PlainProgress(TextWriter.Null));
        var outDir = _repo.Results("stub");

        var outcome = await runner.RunAsync(spec, new RunOptions { OutputDirectory = outDir }, CancellationToken.None);

        Assert.Equal(ExitStatus.Success, outcome.ExitStatus);
        var records = ResultStore.ReadJournal(Path.Combine(outDir, ResultStore.JournalFile)).Records;
        Assert.Equal(2, records.Count);
        Assert.All(records, r => Assert.Equal((RunStatus.Ok, "0x2a", 0), (r.Status, r.Checksum, r.GuestStatus)));
        Assert.All(records, r => Assert.True(r.Cycles > 0 && r.WallSeconds > 0));
        Assert.Contains("## Guest-reported cycles", File.ReadAllText(Path.Combine(outDir, "README.md")), StringComparison.Ordinal);
        Assert.Equal(3, RunnerHarness.Lines(Path.Combine(outDir, ResultStore.CsvFile)));
    }
}
