namespace Drk.Experiments.Specs;

/// <summary>One figure (or one per panel value) the runner draws from the results.</summary>
/// <param name="Name">File stem: <c>Name.gp</c>, <c>Name.dat</c>, <c>Name.svg</c>, ...</param>
/// <param name="Series">Dimensions whose values form the bars of a group.</param>
/// <param name="Panels">Dimensions split into separate figures, one per value.</param>
/// <param name="LogScale">Logarithmic y axis, for slowdowns spanning orders of magnitude.</param>
/// <param name="Only">Restricts the figure to the variants this selects, or null for all.</param>
public sealed record FigureSpec(
    string Name,
    FigureKind Kind,
    IReadOnlyList<Dimension> Series,
    IReadOnlyList<Dimension> Panels,
    bool LogScale,
    string? Title,
    VariantSelector? Only = null);
