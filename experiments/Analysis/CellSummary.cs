using Drk.Experiments.Matrix;

namespace Drk.Experiments.Analysis;

/// <summary>Statistics of one (variant, workload) cell over its measured, successful runs.</summary>
public sealed record CellSummary
{
    public required Variant Variant { get; init; }

    public required string Workload { get; init; }

    /// <summary>Measured runs that succeeded (warm-ups excluded).</summary>
    public int Ok { get; init; }

    public int Failed { get; init; }

    /// <summary>Wall seconds per run.</summary>
    public Estimate? Wall { get; init; }

    /// <summary>Host CPU seconds of the engine process per run, where measured.</summary>
    public Estimate? Cpu { get; init; }

    /// <summary>Guest-reported cycles.</summary>
    public Estimate? Cycles { get; init; }

    /// <summary>Median retired instructions.</summary>
    public double? Instructions { get; init; }

    /// <summary>Guest MIPS (retired instructions per wall-clock microsecond).</summary>
    public Estimate? Mips { get; init; }

    /// <summary>Ratio to the baseline's median on the spec's metric; null for baselines and missing data.</summary>
    public Estimate? Slowdown { get; init; }

    /// <summary>The distinct checksums the guest reported.</summary>
    public IReadOnlyList<string> Checksums { get; init; } = [];
}
