using Drk.Experiments.Analysis;

namespace Drk.Experiments.Figures;

/// <summary>
/// The data of one grouped-bar figure: groups along x (workloads, then an optional summary group such as the
/// geometric mean), one bar per series in each group, each bar a median with its confidence interval.
/// </summary>
/// <param name="Name">File stem of the data, script and images.</param>
/// <param name="Values">Values[group][series]; null where there is no data.</param>
/// <param name="ReferenceLine">A horizontal line to draw (1.0 for slowdowns), or null.</param>
/// <param name="SummaryGroups">How many trailing groups are summaries, set apart by a separator.</param>
public sealed record BarChart(
    string Name,
    string Title,
    string YLabel,
    IReadOnlyList<string> Groups,
    IReadOnlyList<string> Series,
    IReadOnlyList<IReadOnlyList<Estimate?>> Values,
    bool LogScale,
    double? ReferenceLine,
    int SummaryGroups);
