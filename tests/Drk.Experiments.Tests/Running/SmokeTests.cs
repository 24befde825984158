using Drk.Experiments.Engines;
using Drk.Experiments.Figures;
using Drk.Experiments.Recording;
using Drk.Experiments.Running;
using Drk.Experiments.Specs;
using Drk.Experiments.Tests.Fakes;

namespace Drk.Experiments.Tests.Running;

public sealed class SmokeTests : IDisposable
{
    private readonly TempExperiment _repo = new();

    public void Dispose() => _repo.Dispose();

    [Fact]
    public async Task Smoke_spec_runs_end_to_end_and_writes_results_figures_and_report()
    {
        var spec = SpecLoader.Load(_repo.CopyShippedSpec("smoke"));
        var harness = new RunnerHarness();
        var outDir = _repo.Results("smoke");

        var outcome = await harness.RunAsync(spec, outDir);

        Assert.Equal(ExitStatus.Success, outcome.ExitStatus);
        Assert.Equal(3, outcome.Ok);
        Assert.Equal(3, harness.Drk.Calls);
        var request = harness.Drk.Requests.First();
        Assert.Equal("run=null-syscall iterations=1000", request.CommandLine);
        Assert.Equal("null", request.Variant.Tool);

        Assert.Equal(3, RunnerHarness.Lines(Path.Combine(outDir, "runs.jsonl")));
        Assert.Equal(4, RunnerHarness.Lines(Path.Combine(outDir, "runs.csv")));
        Assert.StartsWith("key,experiment,invocation,workload,engine,tier,tool,scope,vcpus", File.ReadLines(Path.Combine(outDir, "runs.csv")).First());
        var invocation = Assert.Single(ResultStore.ReadInvocations(outDir));
        Assert.Equal(System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription, invocation.Dotnet);
        Assert.True(File.Exists(Path.Combine(outDir, "summary.csv")));

        Assert.True(File.Exists(Path.Combine(outDir, "mips.gp")));
        Assert.True(File.Exists(Path.Combine(outDir, "mips.dat")));
        if (new GnuplotRenderer().Available)
        {
            Assert.True(new FileInfo(Path.Combine(outDir, "mips.svg")).Length > 0);
            Assert.True(new FileInfo(Path.Combine(outDir, "mips.png")).Length > 0);
        }

        var report = File.ReadAllText(Path.Combine(outDir, "README.md"));
        Assert.StartsWith("# smoke", report, StringComparison.Ordinal);
        Assert.Contains("./drk experiment test.yaml", report, StringComparison.Ordinal);
        Assert.Contains("## Guest MIPS", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Vs_qemu_spec_draws_every_engine_and_tier_in_one_figure()
    {
        var spec = SpecLoader.Load(_repo.CopyShippedSpec("vs-qemu"));
        var engines = new EngineCatalog([new FakeEngine("drk"), new FakeEngine("qemu-tcg"), new FakeEngine("native")]);
        var nativeBuilt = (string path) => path.EndsWith("/compute-user", StringComparison.Ordinal);
        var runner = new ExperimentRunner(engines, new PlainProgress(TextWriter.Null)) { FileExists = nativeBuilt };
        var outDir = _repo.Results("vs-qemu");

        var outcome = await runner.RunAsync(spec, new RunOptions { OutputDirectory = outDir }, CancellationToken.None);

        Assert.Equal(ExitStatus.Success, outcome.ExitStatus);
        var header = File.ReadAllLines(Path.Combine(outDir, "engines.dat"))[1].Split('\t');
        Assert.Equal(["group", "drk interp", "low", "high", "drk jit", "low", "high", "drk auto", "low", "high", "native", "low", "high"], header);
        var report = File.ReadAllText(Path.Combine(outDir, "README.md"));
        Assert.Contains("## Not run", report, StringComparison.Ordinal);
        Assert.Contains("pipe on native 1 vCPU: no native build", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Overhead_spec_runs_end_to_end_with_a_figure_per_tier()
    {
        var spec = SpecLoader.Load(_repo.CopyShippedSpec("overhead"));
        var harness = new RunnerHarness();
        var outDir = _repo.Results("overhead");

        var outcome = await harness.RunAsync(spec, outDir);

        Assert.Equal(ExitStatus.Success, outcome.ExitStatus);
        Assert.True(File.Exists(Path.Combine(outDir, "slowdown-interp.gp")));
        Assert.True(File.Exists(Path.Combine(outDir, "slowdown-auto.gp")));
        // The eager JIT runs without a tool only (for the MIPS figure): nothing to divide, no slowdown figure.
        Assert.False(File.Exists(Path.Combine(outDir, "slowdown-jit.gp")));
        Assert.Equal(3 * 3 * 3, harness.Drk.Requests.Count(r => r.Variant.Tier == "interp"));
        var data = File.ReadAllLines(Path.Combine(outDir, "slowdown-auto.dat"));
        Assert.Contains("inscount [kernel+modules]", data[1], StringComparison.Ordinal);
        Assert.StartsWith(FigureBuilder.GeomeanGroup, data[^1], StringComparison.Ordinal);
        // The MIPS figure's tiers cover different workloads (interp and jit three, auto all): their geometric means
        // would not be comparable, so the figure has none.
        var mips = File.ReadAllLines(Path.Combine(outDir, "mips.dat"));
        Assert.DoesNotContain(mips, l => l.StartsWith(FigureBuilder.GeomeanGroup, StringComparison.Ordinal));
        Assert.Equal(13, mips.Count(l => !l.StartsWith('#') && !l.StartsWith("group", StringComparison.Ordinal)));
        // The fake engine's model: inscount costs 2.5x no tool, null 1.2x, within the 2% noise.
        var report = File.ReadAllText(Path.Combine(outDir, "README.md"));
        Assert.Contains("## Slowdown vs. no tool (CPU time)", report, StringComparison.Ordinal);
    }
}
