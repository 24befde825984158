using Drk.Experiments.Matrix;

namespace Drk.Experiments.Specs;

/// <summary>A validated experiment spec: what to run, how often, and how to summarise it.</summary>
public sealed record ExperimentSpec
{
    /// <summary>The experiment's name: the default results folder and the report's title.</summary>
    public required string Name { get; init; }

    public string? Description { get; init; }

    /// <summary>Path of the YAML file the spec came from, as given.</summary>
    public required string SourcePath { get; init; }

    public required GuestImage Guest { get; init; }

    public required IReadOnlyList<WorkloadSpec> Workloads { get; init; }

    /// <summary>Every engine/tier/tool/scope/vCPU combination, in spec order; the matrix is these times the workloads.</summary>
    public required IReadOnlyList<Variant> Variants { get; init; }

    public required VariantSelector Baseline { get; init; }

    /// <summary>Cells of <see cref="Variants"/> x <see cref="Workloads"/> the spec leaves out (its <c>exclude</c> list).</summary>
    public IReadOnlyList<CellExclusion> Exclusions { get; init; } = [];

    /// <summary>Tools given as .dll paths: the spec's text (a variant's tool) to the full path <c>drk run --tool</c> gets.</summary>
    public IReadOnlyDictionary<string, string> ToolAssemblies { get; init; } = new Dictionary<string, string>();

    public SlowdownMetric Metric { get; init; } = SlowdownMetric.Wall;

    /// <summary>Measured runs per (variant, workload).</summary>
    public int Repetitions { get; init; } = 5;

    /// <summary>Unrecorded-in-statistics runs per (variant, workload) before the measured ones.</summary>
    public int Warmup { get; init; }

    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Passed to <c>drk run --max-instructions</c> as a runaway guard.</summary>
    public long? MaxInstructions { get; init; }

    /// <summary>Host program for the native engine, with <c>{workload}</c> standing for the workload's name.</summary>
    public string? NativeProgram { get; init; }

    public required IReadOnlyList<FigureSpec> Figures { get; init; }

    /// <summary>Seeds the bootstrap so that confidence intervals are reproducible.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Bootstrap resamples per interval.</summary>
    public int Resamples { get; init; } = 10_000;

    /// <summary>Whether an <c>exclude</c> entry leaves this cell out of the matrix.</summary>
    public bool IsExcluded(Variant variant, string workload)
    {
        foreach (var exclusion in Exclusions)
            if (exclusion.Excludes(variant, workload)) return true;
        return false;
    }
}
