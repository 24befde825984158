namespace Drk.Experiments.Reporting;

/// <summary>One row of <c>summary.csv</c>: a (variant, workload) cell's statistics, or a variant's geometric mean
/// (workload <c>geomean</c>). Intervals are 95% percentile-bootstrap intervals of the median.</summary>
public sealed record SummaryRow
{
    public required string Workload { get; init; }
    public required string Engine { get; init; }
    public string Tier { get; init; } = "";
    public string Tool { get; init; } = "";
    public string Scope { get; init; } = "";
    public int Vcpus { get; init; }
    public bool Baseline { get; init; }
    public int Ok { get; init; }
    public int Failed { get; init; }
    public double? WallMedian { get; init; }
    public double? WallLow { get; init; }
    public double? WallHigh { get; init; }
    public double? CpuMedian { get; init; }
    public double? CpuLow { get; init; }
    public double? CpuHigh { get; init; }
    public double? CyclesMedian { get; init; }
    public double? InstructionsMedian { get; init; }
    public double? MipsMedian { get; init; }
    public double? MipsLow { get; init; }
    public double? MipsHigh { get; init; }
    public double? Slowdown { get; init; }
    public double? SlowdownLow { get; init; }
    public double? SlowdownHigh { get; init; }
}
