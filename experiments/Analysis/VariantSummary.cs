using Drk.Experiments.Matrix;

namespace Drk.Experiments.Analysis;

/// <summary>Across-workload summary of one variant: the geometric mean of its slowdowns and of its MIPS.</summary>
/// <param name="Workloads">How many workloads had data for both the variant and its baseline.</param>
public sealed record VariantSummary(Variant Variant, Estimate? GeomeanSlowdown, Estimate? GeomeanMips, int Workloads);
