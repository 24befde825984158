using Drk.Experiments.Matrix;

namespace Drk.Experiments.Specs;

/// <summary>
/// Picks variants by engine, tier, tool and scope: a figure's <c>only</c> filter, and the spec's baseline, the
/// variant every other is divided by. For a baseline a key left out means "the same as the variant being
/// compared", so <c>{tool: none}</c> reads as "the same engine, tier and vCPUs without a tool".
/// </summary>
public sealed record VariantSelector(string? Engine, string? Tier, string? Tool, string? Scope)
{
    /// <summary>Whether <paramref name="candidate"/> can serve as the baseline of <paramref name="variant"/>.</summary>
    public bool Matches(Variant candidate, Variant variant)
    {
        if (candidate.Vcpus != variant.Vcpus) return false;
        return Fits(Engine, candidate.Engine, variant.Engine)
            && Fits(Tier, candidate.Tier, variant.Tier)
            && Fits(Tool, candidate.Tool, variant.Tool)
            && Fits(Scope, candidate.Scope, variant.Scope);
    }

    /// <summary>Whether the variant satisfies every key the selector names (for a baseline: is one).</summary>
    public bool Selects(Variant variant) =>
        (Engine is null || Engine == variant.Engine)
        && (Tier is null || Tier == variant.Tier)
        && (Tool is null || Tool == variant.Tool)
        && (Scope is null || Scope == variant.Scope);

    // An empty candidate value means the dimension does not exist for its engine (QEMU has no tier),
    // so it cannot disagree with the variant.
    private static bool Fits(string? wanted, string candidate, string variant) =>
        wanted is not null ? wanted == candidate : candidate.Length == 0 || candidate == variant;

    public override string ToString()
    {
        var parts = new List<string>();
        if (Engine is not null) parts.Add($"engine={Engine}");
        if (Tier is not null) parts.Add($"tier={Tier}");
        if (Tool is not null) parts.Add($"tool={Tool}");
        if (Scope is not null) parts.Add($"scope={Scope}");
        return string.Join(", ", parts);
    }
}
