using Drk.Experiments.Specs;

namespace Drk.Experiments.Matrix;

/// <summary>A (variant, workload) cell left out of the matrix, e.g. a workload with no native build.</summary>
public sealed record NotApplicableCell(Variant Variant, WorkloadSpec Workload, string Reason);
