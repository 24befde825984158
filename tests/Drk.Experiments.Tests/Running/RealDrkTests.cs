using Drk.Experiments.Analysis;
using Drk.Experiments.Engines;
using Drk.Experiments.Figures;
using Drk.Experiments.Matrix;
using Drk.Experiments.Recording;
using Drk.Experiments.Running;
using Drk.Experiments.Specs;
using Drk.Experiments.Tests.Engines;
using Drk.Experiments.Tests.Fakes;

namespace Drk.Experiments.Tests.Running;

/// <summary>The runner against the real <c>drk run</c> and guest: skipped when either is not built.</summary>
public sealed class RealDrkTests : IDisposable
{
    private readonly TempExperiment _repo = new();

    public void Dispose() => _repo.Dispose();

    [SkippableFact]
    public async Task Smoke_spec_runs_end_to_end_under_the_real_drk()
    {
        var missing = RealDrk.Missing();
        Skip.If(missing is not null, missing);
        // The shipped spec in place, so that its guest paths reach the real build; results go to a temporary folder.
        var spec = SpecLoader.Load(Path.Combine(TempExperiment.RepositoryRoot, "experiments", "smoke.yaml"));
        var outDir = _repo.Results("smoke");
        var runner = new ExperimentRunner(EngineCatalog.Default(RealDrk.Launcher), new PlainProgress(TextWriter.Null), new GnuplotRenderer());

        var outcome = await runner.RunAsync(spec, new RunOptions { OutputDirectory = outDir, Command = "./drk experiment experiments/smoke.yaml" }, CancellationToken.None);

        var records = ResultStore.ReadJournal(Path.Combine(outDir, ResultStore.JournalFile)).Records;
        Assert.True(outcome.ExitStatus == ExitStatus.Success, string.Join("\n", records.Select(r => $"{r.Key}: {r.Status} {r.Reason}")));
        Assert.Equal(3, records.Count);
        foreach (var r in records)
        {
            Assert.Equal(("null", "kernel", 0), (r.Tool, r.Scope, r.GuestStatus));
            Assert.Equal(1000, r.Iterations);
            Assert.True(r.Instructions > 1_000_000, $"instructions: {r.Instructions}");
            // The null tool's own counters: every getpid is a kernel entry.
            Assert.InRange(r.Stats!["null.kernel-entries"], 1000, 2000);
            Assert.Equal(r.Stats["blocks-instrumented"], r.Stats["null.blocks-translated"]);
        }
        // One guest, one workload: the same checksum and, on 1 vCPU, the same retired instructions every time.
        Assert.Single(records.Select(r => r.Checksum).Distinct());
        Assert.Single(records.Select(r => r.Instructions).Distinct());
        var analysis = ExperimentAnalysis.Compute(spec, records);
        Assert.Empty(analysis.ConsistencyProblems);
        Assert.True(File.Exists(Path.Combine(outDir, "mips.gp")));
        if (new GnuplotRenderer().Available) Assert.True(new FileInfo(Path.Combine(outDir, "mips.png")).Length > 0);
        Assert.Contains("## Guest MIPS", File.ReadAllText(Path.Combine(outDir, "README.md")), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Inscount_statistics_of_the_real_drk_are_recorded_and_agree_with_its_retired_count()
    {
        var missing = RealDrk.Missing();
        Skip.If(missing is not null, missing);
        var engine = new DrkEngine(RealDrk.Launcher);
        var request = new RunRequest(
            new Variant("drk", "auto", "inscount", "kernel+modules", 1), new WorkloadSpec("ioctl", "iterations=200"),
            new GuestImage(RealDrk.Kernel, RealDrk.Initrd, "", "256M"), "run=ioctl iterations=200", TimeSpan.FromMinutes(2), null, null);

        var outcome = await engine.RunAsync(request, CancellationToken.None);

        Assert.True(outcome.GuestStatus == 0, string.Join("\n", outcome.Diagnostics));
        var stats = outcome.Stats;
        Assert.Equal(stats[InsCountChecks.KernelInstructionsStat], stats[InsCountChecks.TotalStat]);
        Assert.Equal(stats["inscount.total"], stats["inscount.kernel"] + stats["inscount.modules"]);
        // ioctl runs in the chardev module.
        Assert.True(stats["inscount.module.chardev.count"] > 0);
        Assert.Equal(stats["inscount.modules"], stats["inscount.module.chardev.count"]);
        Assert.True(outcome.Instructions > (long)stats["inscount.total"]);
    }

    [SkippableFact]
    public async Task Drk_experiment_checks_spec_tools_against_its_own_catalog()
    {
        Skip.If(!File.Exists(RealDrk.Dll), $"drk is not built ({RealDrk.Dll})");
        var insCountDll = Path.Combine(TempExperiment.RepositoryRoot, "tools", "inscount", "bin", "Release", "net10.0", "Drk.Tools.InsCount.dll");
        var noToolsDll = typeof(SpecLoader).Assembly.Location;
        const string Guest = "guest:\n  kernel: ../guest/build/kernel.elf\nworkloads: [a]\n";

        var unknown = await RealDrk.RunAsync("experiment", _repo.WriteSpec("unknown", Guest + "tools: [none, null, memcheck]\n"), "--dry-run");
        var notTools = await RealDrk.RunAsync("experiment", _repo.WriteSpec("not-tools", Guest + $"tools: [none, '{noToolsDll}']\n"), "--dry-run");
        var assembly = await RealDrk.RunAsync("experiment", _repo.WriteSpec("assembly", Guest + $"tools: [none, '{insCountDll}']\n"), "--dry-run");

        Assert.Equal(ExitStatus.InvalidInput, unknown.ExitCode);
        Assert.Contains(unknown.Stderr, l => l.EndsWith(":4:21: unknown tool 'memcheck' (this drk knows: none, null, inscount, or the path of a .dll with ITool classes)", StringComparison.Ordinal));
        Assert.Contains(unknown.Stderr, l => l.EndsWith("was rejected (1 problem); nothing ran", StringComparison.Ordinal));
        Assert.Equal(ExitStatus.InvalidInput, notTools.ExitCode);
        Assert.Contains(notTools.Stderr, l => l.EndsWith($"tool assembly '{noToolsDll}' cannot be used: no public ITool class with a parameterless constructor in it", StringComparison.Ordinal));
        Skip.If(!File.Exists(insCountDll), $"the inscount tool is not built ({insCountDll})");
        Assert.True(assembly.ExitCode == ExitStatus.Success, string.Join("\n", assembly.Stderr));
        Assert.Contains(assembly.Stdout, l => l.Contains($"drk auto {insCountDll} [kernel] 1 vCPU", StringComparison.Ordinal));
    }
}
