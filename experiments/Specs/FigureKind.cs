namespace Drk.Experiments.Specs;

/// <summary>The figures the runner knows how to draw.</summary>
public enum FigureKind
{
    /// <summary>Grouped bars of slowdown against the baseline per workload, with CI error bars and a geometric mean.</summary>
    Slowdown,

    /// <summary>Grouped bars of guest MIPS (retired instructions per wall-clock second) per workload.</summary>
    Mips,
}
