using Drk.Experiments.Specs;

namespace Drk.Experiments.Matrix;

/// <summary>One run of the matrix: a variant, a workload and which repetition (or warm-up) it is.</summary>
/// <param name="Cell">Index of the (variant, workload) cell; a Slurm chunk takes whole cells.</param>
/// <param name="Index">1-based repetition number, counted separately for warm-ups and measured runs.</param>
public sealed record PlannedRun(Variant Variant, WorkloadSpec Workload, bool Warmup, int Index, int Cell)
{
    /// <summary>Identifies the run across invocations: what <c>--resume</c> and the merge step match on.</summary>
    public string Key => MakeKey(Variant, Workload.Name, Warmup, Index);

    public static string MakeKey(Variant v, string workload, bool warmup, int index) =>
        $"{workload}|{v.Engine}|{v.Tier}|{v.Tool}|{v.Scope}|{v.Vcpus}|{(warmup ? 'w' : 'r')}{index}";

    public override string ToString() =>
        $"{Workload.Name} on {Variant} ({(Warmup ? "warm-up" : "repetition")} {Index})";
}
