using Drk.Experiments.Matrix;

namespace Drk.Experiments.Specs;

/// <summary>
/// One entry of a spec's <c>exclude</c> list: the (variant, workload) cells it names are left out of the matrix,
/// e.g. the slow interpreter tier on all but a few workloads. A cell is excluded when every key the entry gives
/// lists the cell's value; a key left out matches anything.
/// </summary>
public sealed record CellExclusion(
    IReadOnlyList<string>? Engines,
    IReadOnlyList<string>? Tiers,
    IReadOnlyList<string>? Tools,
    IReadOnlyList<string>? Scopes,
    IReadOnlyList<int>? Vcpus,
    IReadOnlyList<string>? Workloads)
{
    public bool Excludes(Variant variant, string workload) =>
        In(Engines, variant.Engine)
        && In(Tiers, variant.Tier)
        && In(Tools, variant.Tool)
        && In(Scopes, variant.Scope)
        && (Vcpus is null || Vcpus.Contains(variant.Vcpus))
        && In(Workloads, workload);

    private static bool In(IReadOnlyList<string>? values, string value) => values is null || values.Contains(value, StringComparer.Ordinal);
}
