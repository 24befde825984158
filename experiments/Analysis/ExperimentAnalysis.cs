using System.Globalization;
using Drk.Experiments.Matrix;
using Drk.Experiments.Recording;
using Drk.Experiments.Specs;

namespace Drk.Experiments.Analysis;

/// <summary>
/// The statistics of an experiment's recorded runs: per-cell medians with bootstrap intervals, slowdowns
/// against the baseline measured in the same results, geometric means across workloads, and the transparency
/// checks (every engine, tier and tool should see the same checksums and, under Drk, the same instruction counts).
/// Warm-up runs and failed runs are left out of every statistic.
/// </summary>
public sealed class ExperimentAnalysis
{
    private readonly Dictionary<(Variant, string), CellSummary> _cells = [];
    private readonly Dictionary<Variant, Variant> _baselineOf = [];

    private ExperimentAnalysis(ExperimentSpec spec) => Spec = spec;

    public ExperimentSpec Spec { get; }

    /// <summary>Cells in spec order (variants, then workloads); cells without any measured record are absent.</summary>
    public IReadOnlyList<CellSummary> Cells { get; private set; } = [];

    /// <summary>Per-variant geometric means, for the variants that are not baselines.</summary>
    public IReadOnlyList<VariantSummary> VariantSummaries { get; private set; } = [];

    /// <summary>The latest record of every run (warm-ups included).</summary>
    public IReadOnlyList<RunRecord> Runs { get; private set; } = [];

    /// <summary>Observations that break the transparency invariants, one line each.</summary>
    public IReadOnlyList<string> ConsistencyProblems { get; private set; } = [];

    public IEnumerable<RunRecord> Failures => Runs.Where(r => r.Status == RunStatus.Failed);

    public CellSummary? Find(Variant variant, string workload) => _cells.GetValueOrDefault((variant, workload));

    /// <summary>The variant's baseline, or null when it is one.</summary>
    public Variant? BaselineOf(Variant variant) => _baselineOf.GetValueOrDefault(variant);

    public bool IsBaseline(Variant variant) => Spec.Baseline.Selects(variant);

    public static ExperimentAnalysis Compute(ExperimentSpec spec, IEnumerable<RunRecord> records)
    {
        var analysis = new ExperimentAnalysis(spec);
        var bootstrap = new Bootstrap(spec.Resamples, spec.Seed);
        analysis.Runs = ResultStore.LatestByKey(records);
        var measured = analysis.Runs.Where(r => !r.Warmup).ToLookup(r => (VariantOf(r), r.Workload));

        foreach (var v in spec.Variants.Where(v => !spec.Baseline.Selects(v)))
        {
            var b = spec.Variants.FirstOrDefault(c => spec.Baseline.Selects(c) && spec.Baseline.Matches(c, v));
            if (b is not null) analysis._baselineOf[v] = b;
        }

        var cells = new List<CellSummary>();
        foreach (var v in spec.Variants)
        {
            foreach (var w in spec.Workloads)
            {
                var runs = measured[(v, w.Name)].ToList();
                if (runs.Count == 0) continue;
                var ok = runs.Where(r => r.Status == RunStatus.Ok).ToList();
                var key = $"{v}|{w.Name}";
                var wall = ok.Select(r => r.WallSeconds).ToList();
                var cpu = ok.Where(r => r.CpuSeconds.HasValue).Select(r => r.CpuSeconds!.Value).ToList();
                var cycles = ok.Where(r => r.Cycles.HasValue).Select(r => (double)r.Cycles!.Value).ToList();
                var mips = ok.Where(r => r.Mips.HasValue).Select(r => r.Mips!.Value).ToList();
                var instructions = ok.Where(r => r.Instructions.HasValue).Select(r => (double)r.Instructions!.Value).ToList();
                var cell = new CellSummary
                {
                    Variant = v,
                    Workload = w.Name,
                    Ok = ok.Count,
                    Failed = runs.Count - ok.Count,
                    Wall = wall.Count > 0 ? bootstrap.Median(wall, key + "|wall") : null,
                    Cpu = cpu.Count > 0 ? bootstrap.Median(cpu, key + "|cpu") : null,
                    Cycles = cycles.Count > 0 ? bootstrap.Median(cycles, key + "|cycles") : null,
                    Mips = mips.Count > 0 ? bootstrap.Median(mips, key + "|mips") : null,
                    Instructions = instructions.Count > 0 ? MathNet.Numerics.Statistics.Statistics.Median(instructions) : null,
                    Checksums = ok.Select(r => r.Checksum).OfType<string>().Distinct(StringComparer.Ordinal).ToList(),
                };
                cells.Add(cell);
                analysis._cells[(v, w.Name)] = cell;
            }
        }

        // Slowdowns need both cells, so they come after every cell exists.
        for (var i = 0; i < cells.Count; i++)
        {
            var cell = cells[i];
            if (analysis.BaselineOf(cell.Variant) is not { } b || analysis.Find(b, cell.Workload) is null) continue;
            var num = analysis.MetricSample(cell.Variant, cell.Workload);
            var den = analysis.MetricSample(b, cell.Workload);
            if (num.Count == 0 || den.Count == 0) continue;
            cells[i] = cell with { Slowdown = bootstrap.RatioOfMedians(num, den, $"{cell.Variant}|{cell.Workload}|slowdown") };
            analysis._cells[(cell.Variant, cell.Workload)] = cells[i];
        }
        analysis.Cells = cells;

        var summaries = new List<VariantSummary>();
        foreach (var v in spec.Variants)
        {
            var pairs = new List<(IReadOnlyList<double>, IReadOnlyList<double>)>();
            if (analysis.BaselineOf(v) is { } b)
            {
                foreach (var w in spec.Workloads)
                {
                    var num = analysis.MetricSample(v, w.Name);
                    var den = analysis.MetricSample(b, w.Name);
                    if (num.Count > 0 && den.Count > 0) pairs.Add((num, den));
                }
            }
            var mipsSamples = spec.Workloads
                .Select(w => (IReadOnlyList<double>)measured[(v, w.Name)].Where(r => r.Status == RunStatus.Ok && r.Mips.HasValue).Select(r => r.Mips!.Value).ToList())
                .Where(s => s.Count > 0)
                .ToList();
            if (pairs.Count == 0 && mipsSamples.Count == 0) continue;
            summaries.Add(new VariantSummary(
                v,
                pairs.Count > 0 ? bootstrap.GeometricMeanOfRatios(pairs, $"{v}|geomean-slowdown") : null,
                mipsSamples.Count > 0 ? bootstrap.GeometricMeanOfMedians(mipsSamples, $"{v}|geomean-mips") : null,
                pairs.Count));
        }
        analysis.VariantSummaries = summaries;
        analysis.ConsistencyProblems = analysis.CheckConsistency(measured);
        return analysis;
    }

    /// <summary>The successful measured values of the spec's slowdown metric for one cell.</summary>
    public IReadOnlyList<double> MetricSample(Variant variant, string workload) =>
        Runs.Where(r => !r.Warmup && r.Status == RunStatus.Ok && r.Workload == workload && VariantOf(r) == variant)
            .Select(r => Spec.Metric switch
            {
                SlowdownMetric.Wall => r.WallSeconds,
                SlowdownMetric.Cpu => r.CpuSeconds,
                _ => (double?)r.Cycles,
            })
            .OfType<double>()
            .Where(x => x > 0)
            .ToList();

    public static Variant VariantOf(RunRecord r) => new(r.Engine, r.Tier, r.Tool, r.Scope, r.Vcpus);

    private List<string> CheckConsistency(ILookup<(Variant, string), RunRecord> measured)
    {
        var problems = new List<string>();
        foreach (var w in Spec.Workloads)
        {
            var byChecksum = Cells.Where(c => c.Workload == w.Name)
                .SelectMany(c => c.Checksums.Select(sum => (sum, c.Variant)))
                .GroupBy(x => x.sum, StringComparer.Ordinal)
                .ToList();
            if (byChecksum.Count > 1)
                problems.Add($"{w.Name}: checksums differ: " + string.Join("; ",
                    byChecksum.Select(g => $"{g.Key} from {string.Join(", ", g.Select(x => x.Variant.ToString()).Distinct())}")));

            // The guest's virtual clock is driven by retired instructions, so on one vCPU every tool and tier
            // must retire exactly the same number.
            var counts = Cells.Where(c => c.Workload == w.Name && c.Variant.Vcpus == 1 && c.Instructions.HasValue)
                .GroupBy(c => c.Instructions!.Value)
                .ToList();
            if (counts.Count > 1)
                problems.Add($"{w.Name}: retired instructions differ on 1 vCPU: " + string.Join("; ",
                    counts.Select(g => $"{g.Key.ToString("0", CultureInfo.InvariantCulture)} from {string.Join(", ", g.Select(c => c.Variant.ToString()))}")));
        }
        foreach (var cell in Cells.Where(c => c.Variant.Vcpus == 1))
        {
            var distinct = measured[(cell.Variant, cell.Workload)]
                .Where(r => r.Status == RunStatus.Ok && r.Instructions.HasValue)
                .Select(r => r.Instructions!.Value).Distinct().Count();
            if (distinct > 1)
                problems.Add($"{cell.Workload} on {cell.Variant}: retired instructions vary between repetitions ({distinct} different counts)");
        }
        problems.AddRange(InsCountChecks.Check(Runs));
        return problems;
    }
}
