using Drk.Experiments.Specs;

namespace Drk.Experiments.Matrix;

/// <summary>Which dimensions actually vary across a set of variants (the ones a figure must tell apart).</summary>
public static class VariantDimensions
{
    /// <summary>Dimensions with at least two different values among the variants that have one: QEMU's empty
    /// tier does not make the tier vary when every Drk variant runs the same tier.</summary>
    public static IReadOnlyList<Dimension> Varying(IEnumerable<Variant> variants)
    {
        var list = variants.ToList();
        return Enum.GetValues<Dimension>()
            .Where(d => list.Select(v => v.Value(d)).Where(x => x.Length > 0).Distinct(StringComparer.Ordinal).Count() > 1)
            .ToList();
    }
}
