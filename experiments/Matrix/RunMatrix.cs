using Drk.Experiments.Specs;

namespace Drk.Experiments.Matrix;

/// <summary>
/// The expanded matrix of a spec: every run in execution order. Runs go round by round (all warm-ups, then
/// repetition 1 of every cell, then repetition 2, ...) so that slow drift of the host spreads over every
/// variant instead of biasing whichever ran last; within a round the cells come in a shuffled order (seeded
/// by the spec's seed and the round, so the same spec always runs in the same order), since a round of a big
/// matrix lasts many minutes and the load of a shared machine changes within it: in spec order the baseline
/// would always run at the start of a round and the last tool at its end.
/// </summary>
public sealed class RunMatrix
{
    private RunMatrix(IReadOnlyList<PlannedRun> runs, IReadOnlyList<NotApplicableCell> notApplicable, int cells)
    {
        Runs = runs;
        NotApplicable = notApplicable;
        CellCount = cells;
    }

    public IReadOnlyList<PlannedRun> Runs { get; }

    public IReadOnlyList<NotApplicableCell> NotApplicable { get; }

    /// <summary>Number of (variant, workload) cells that run.</summary>
    public int CellCount { get; }

    /// <summary>Expands a spec. <paramref name="fileExists"/> decides which native builds exist (tests replace it).</summary>
    public static RunMatrix Expand(ExperimentSpec spec, Func<string, bool>? fileExists = null)
    {
        fileExists ??= File.Exists;
        var cells = new List<(Variant Variant, WorkloadSpec Workload)>();
        var notApplicable = new List<NotApplicableCell>();
        foreach (var variant in spec.Variants)
        {
            foreach (var workload in spec.Workloads)
            {
                if (spec.IsExcluded(variant, workload.Name)) continue;
                if (variant.Engine == KnownNames.NameOf(EngineKind.Native))
                {
                    var program = NativeProgramPath(spec, workload);
                    if (program is null || !fileExists(program))
                    {
                        notApplicable.Add(new NotApplicableCell(variant, workload, $"no native build ({program})"));
                        continue;
                    }
                }
                cells.Add((variant, workload));
            }
        }

        var runs = new List<PlannedRun>(cells.Count * (spec.Warmup + spec.Repetitions));
        for (var round = 1; round <= spec.Warmup; round++)
            foreach (var c in RoundOrder(cells.Count, spec.Seed, -round))
                runs.Add(new PlannedRun(cells[c].Variant, cells[c].Workload, Warmup: true, round, c));
        for (var round = 1; round <= spec.Repetitions; round++)
            foreach (var c in RoundOrder(cells.Count, spec.Seed, round))
                runs.Add(new PlannedRun(cells[c].Variant, cells[c].Workload, Warmup: false, round, c));
        return new RunMatrix(runs, notApplicable, cells.Count);
    }

    /// <summary>A Fisher-Yates permutation of the cell indices, the same for the same seed and round.</summary>
    private static int[] RoundOrder(int cells, int seed, int round)
    {
        var order = new int[cells];
        for (var i = 0; i < cells; i++) order[i] = i;
        var random = new MathNet.Numerics.Random.MersenneTwister(unchecked(seed * 7919 + round), threadSafe: false);
        for (var i = cells - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    /// <summary>The host program of a workload's native build, or null when the spec names none.</summary>
    public static string? NativeProgramPath(ExperimentSpec spec, WorkloadSpec workload) =>
        spec.NativeProgram?.Replace("{workload}", workload.Name, StringComparison.Ordinal);
}
