using Drk.Experiments.Analysis;
using Drk.Experiments.Recording;
using Drk.Experiments.Specs;
using Drk.Experiments.Tests.Fakes;

namespace Drk.Experiments.Tests.Analysis;

public sealed class ExperimentAnalysisTests : IDisposable
{
    private readonly TempExperiment _repo = new();

    public void Dispose() => _repo.Dispose();

    private static RunRecord Run(string workload, string tool, int rep, double seconds, string checksum = "0x1", long? instructions = 1000, bool warmup = false) => new()
    {
        Key = $"{workload}|drk|jit|{tool}|{(tool == "none" ? "" : "kernel")}|1|{(warmup ? 'w' : 'r')}{rep}",
        Experiment = "small",
        Invocation = "test",
        Workload = workload,
        Engine = "drk",
        Tier = "jit",
        Tool = tool,
        Scope = tool == "none" ? "" : "kernel",
        Vcpus = 1,
        Warmup = warmup,
        Repetition = rep,
        Status = RunStatus.Ok,
        WallSeconds = seconds,
        Checksum = checksum,
        Instructions = instructions,
    };

    [Fact]
    public void Slowdowns_and_their_geometric_mean_on_a_synthetic_data_set()
    {
        var spec = SpecLoader.Load(_repo.WriteSpec("small", Fakes.Specs.Small));
        // alpha: baseline median 1, inscount median 2; beta: baseline median 2, inscount median 16.
        var records = new List<RunRecord>
        {
            Run("alpha", "none", 1, 0.9), Run("alpha", "none", 2, 1.0), Run("alpha", "none", 3, 1.1),
            Run("alpha", "inscount", 1, 2.0), Run("alpha", "inscount", 2, 1.8), Run("alpha", "inscount", 3, 2.2),
            Run("beta", "none", 1, 2.0), Run("beta", "none", 2, 2.0), Run("beta", "none", 3, 2.0),
            Run("beta", "inscount", 1, 16.0), Run("beta", "inscount", 2, 16.0), Run("beta", "inscount", 3, 16.0),
            Run("beta", "inscount", 1, 99.0, warmup: true),
        };

        var analysis = ExperimentAnalysis.Compute(spec, records);

        var alpha = analysis.Cells.Single(c => c.Workload == "alpha" && c.Variant.Tool == "inscount");
        var beta = analysis.Cells.Single(c => c.Workload == "beta" && c.Variant.Tool == "inscount");
        Assert.Equal(2.0, alpha.Slowdown!.Value.Value, 12);
        Assert.Equal(8.0, beta.Slowdown!.Value.Value, 12);
        Assert.Equal(new Estimate(8, 8, 8, 3), beta.Slowdown);
        Assert.True(alpha.Slowdown.Value.Low < 2.0 && alpha.Slowdown.Value.High > 2.0);
        var geomean = analysis.VariantSummaries.Single(s => s.Variant.Tool == "inscount").GeomeanSlowdown!.Value;
        Assert.Equal(4.0, geomean.Value, 12);
        Assert.True(geomean.Contains(4.0));
        Assert.Null(analysis.Cells.Single(c => c.Workload == "alpha" && c.Variant.Tool == "none").Slowdown);
        Assert.Empty(analysis.ConsistencyProblems);
    }

    [Fact]
    public void The_cpu_metric_divides_cpu_seconds_and_ignores_wall_time()
    {
        var spec = SpecLoader.Load(_repo.WriteSpec("small", Fakes.Specs.Small + "\nmetric: cpu\n"));
        Assert.Equal(SlowdownMetric.Cpu, spec.Metric);
        // Wall times say 10x (a busy machine during the inscount runs); CPU times say 3x.
        var records = new List<RunRecord>();
        for (var rep = 1; rep <= 3; rep++)
        {
            records.Add(Run("alpha", "none", rep, 1.0) with { CpuSeconds = 0.5 });
            records.Add(Run("alpha", "inscount", rep, 10.0) with { CpuSeconds = 1.5 });
        }
        // A run whose CPU time could not be measured (overlapping jobs) is left out of the CPU statistics only.
        records.Add(Run("alpha", "inscount", 4, 10.0));

        var analysis = ExperimentAnalysis.Compute(spec, records);

        var cell = analysis.Cells.Single(c => c.Workload == "alpha" && c.Variant.Tool == "inscount");
        Assert.Equal(new Estimate(3, 3, 3, 3), cell.Slowdown);
        Assert.Equal(1.5, cell.Cpu!.Value.Value, 12);
        Assert.Equal(10.0, cell.Wall!.Value.Value, 12);
        Assert.Equal(4, cell.Ok);
    }

    [Fact]
    public void Differing_checksums_and_instruction_counts_break_transparency()
    {
        var spec = SpecLoader.Load(_repo.WriteSpec("small", Fakes.Specs.Small));
        var records = new List<RunRecord>
        {
            Run("alpha", "none", 1, 1.0, "0xaa", 1000),
            Run("alpha", "inscount", 1, 2.0, "0xbb", 1001),
            Run("alpha", "inscount", 2, 2.0, "0xbb", 1002),
        };

        var problems = ExperimentAnalysis.Compute(spec, records).ConsistencyProblems;

        Assert.Contains(problems, p => p.StartsWith("alpha: checksums differ", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("alpha: retired instructions differ", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("vary between repetitions", StringComparison.Ordinal));
    }

    [Fact]
    public void Failed_runs_are_counted_but_not_measured()
    {
        var spec = SpecLoader.Load(_repo.WriteSpec("small", Fakes.Specs.Small));
        var records = new List<RunRecord>
        {
            Run("alpha", "none", 1, 1.0),
            Run("alpha", "none", 2, 500.0) with { Status = RunStatus.Failed, Reason = "timed out" },
        };

        var cell = Assert.Single(ExperimentAnalysis.Compute(spec, records).Cells);

        Assert.Equal((1, 1), (cell.Ok, cell.Failed));
        Assert.Equal(1.0, cell.Wall!.Value.Value);
    }
}
