namespace Drk.Experiments.Specs;

/// <summary>
/// The names a spec may use for engines, tiers, scopes and figure dimensions: the flags <c>drk run</c>
/// documents. Tools are not listed here: the drk build that runs a spec says which it has (<see cref="DrkToolSet"/>).
/// </summary>
public static class KnownNames
{
    /// <summary>The tool value meaning "run under Drk without <c>--tool</c>".</summary>
    public const string NoTool = "none";

    /// <summary>Engine spellings in the order messages list them.</summary>
    public static readonly IReadOnlyList<KeyValuePair<string, EngineKind>> Engines =
    [
        new("drk", EngineKind.Drk),
        new("qemu-tcg", EngineKind.QemuTcg),
        new("qemu-kvm", EngineKind.QemuKvm),
        new("native", EngineKind.Native),
    ];

    public static readonly IReadOnlyList<string> Tiers = ["interp", "jit", "auto"];

    public static readonly IReadOnlyList<string> Scopes = ["kernel", "kernel+modules", "modules"];

    public static readonly IReadOnlyList<KeyValuePair<string, Dimension>> Dimensions =
    [
        new("engine", Dimension.Engine),
        new("tier", Dimension.Tier),
        new("tool", Dimension.Tool),
        new("scope", Dimension.Scope),
        new("vcpus", Dimension.Vcpus),
    ];

    public static IReadOnlyList<string> EngineNames { get; } = Engines.Select(e => e.Key).ToList();

    public static IReadOnlyList<string> DimensionNames { get; } = Dimensions.Select(e => e.Key).ToList();

    public static EngineKind EngineOf(string name) => Engines.First(e => e.Key == name).Value;

    public static Dimension DimensionOf(string name) => Dimensions.First(e => e.Key == name).Value;

    /// <summary>The spec spelling of an engine.</summary>
    public static string NameOf(EngineKind kind) => Engines.First(e => e.Value == kind).Key;

    /// <summary>The spec spelling of a dimension.</summary>
    public static string NameOf(Dimension dimension) => Dimensions.First(e => e.Value == dimension).Key;
}
