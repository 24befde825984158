using System.Text.RegularExpressions;
using Drk.Experiments.Analysis;
using Drk.Experiments.Matrix;
using Drk.Experiments.Specs;

namespace Drk.Experiments.Figures;

/// <summary>Turns an analysis and a figure spec into bar charts: one per combination of the figure's panel values.</summary>
public static partial class FigureBuilder
{
    public const string GeomeanGroup = "geo. mean";

    public static IReadOnlyList<BarChart> Build(ExperimentAnalysis analysis, FigureSpec figure)
    {
        var spec = analysis.Spec;
        var variants = figure.Kind == FigureKind.Slowdown
            ? spec.Variants.Where(v => !analysis.IsBaseline(v)).ToList()
            : spec.Variants.Where(v => v.Engine == KnownNames.NameOf(EngineKind.Drk)).ToList();
        if (figure.Only is { } only) variants = variants.Where(only.Selects).ToList();
        var charts = new List<BarChart>();
        foreach (var panel in variants.GroupBy(v => v.Label(figure.Panels)))
        {
            var panelVariants = panel.ToList();
            var series = panelVariants.Select(v => v.Label(figure.Series)).Distinct().ToList();
            var workloads = spec.Workloads.Select(w => w.Name)
                .Where(w => panelVariants.Any(v => Value(analysis, figure.Kind, v, w) is not null))
                .ToList();
            if (workloads.Count == 0) continue;

            var rows = new List<IReadOnlyList<Estimate?>>();
            foreach (var w in workloads)
                rows.Add(series.Select(s => Value(analysis, figure.Kind, panelVariants.First(v => v.Label(figure.Series) == s), w)).ToList());
            var summary = series.Select(s =>
            {
                var v = panelVariants.First(x => x.Label(figure.Series) == s);
                var vs = analysis.VariantSummaries.FirstOrDefault(x => x.Variant == v);
                return figure.Kind == FigureKind.Slowdown ? vs?.GeomeanSlowdown : vs?.GeomeanMips;
            }).ToList();
            // Geometric means side by side must be over the same workloads: a series with a workload less (no native
            // build, a tier excluded from most workloads) would be compared on another footing, so the group is left out.
            var sameWorkloads = Enumerable.Range(0, series.Count)
                .Select(s => string.Join('\n', rows.Select((row, w) => row[s] is null ? "" : workloads[w])))
                .Distinct(StringComparer.Ordinal).Count() == 1;
            var hasSummary = workloads.Count > 1 && sameWorkloads && summary.Any(e => e is not null);
            if (hasSummary) rows.Add(summary);

            var panelLabel = figure.Panels.Count > 0 ? panel.Key : "";
            var name = panelLabel.Length > 0 ? $"{figure.Name}-{FileSafe(panelLabel)}" : figure.Name;
            var title = figure.Title ?? DefaultTitle(spec, figure);
            if (panelLabel.Length > 0) title += $" ({panelLabel})";
            charts.Add(new BarChart(
                name,
                title,
                figure.Kind == FigureKind.Slowdown ? $"slowdown vs. {BaselineText(spec.Baseline)} ({MetricText(spec.Metric)})" : "guest MIPS",
                [.. workloads, .. hasSummary ? [GeomeanGroup] : Array.Empty<string>()],
                series,
                rows,
                figure.LogScale,
                figure.Kind == FigureKind.Slowdown ? 1.0 : null,
                hasSummary ? 1 : 0));
        }
        return charts;
    }

    /// <summary>How a baseline reads in labels: <c>{tool: none}</c> is "no tool", <c>{engine: qemu-tcg}</c> is "qemu-tcg".</summary>
    public static string BaselineText(VariantSelector b)
    {
        var parts = new List<string>();
        if (b.Engine is not null) parts.Add(b.Engine);
        if (b.Tier is not null) parts.Add(b.Tier);
        if (b.Tool is not null) parts.Add(b.Tool == KnownNames.NoTool ? "no tool" : b.Tool);
        if (b.Scope is not null) parts.Add($"[{b.Scope}]");
        return string.Join(' ', parts);
    }

    public static string MetricText(SlowdownMetric metric) => metric switch
    {
        SlowdownMetric.Wall => "wall time",
        SlowdownMetric.Cpu => "CPU time",
        _ => "guest cycles",
    };

    private static string DefaultTitle(ExperimentSpec spec, FigureSpec figure) => figure.Kind switch
    {
        FigureKind.Slowdown => $"{spec.Name}: slowdown per workload",
        _ => $"{spec.Name}: guest MIPS per workload",
    };

    private static Estimate? Value(ExperimentAnalysis analysis, FigureKind kind, Variant v, string workload)
    {
        var cell = analysis.Find(v, workload);
        return kind == FigureKind.Slowdown ? cell?.Slowdown : cell?.Mips;
    }

    private static string FileSafe(string label) => NotFileSafe().Replace(label, "-").Trim('-');

    [GeneratedRegex("[^A-Za-z0-9._+]+")]
    private static partial Regex NotFileSafe();
}
