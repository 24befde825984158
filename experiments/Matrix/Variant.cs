using System.Globalization;
using Drk.Experiments.Specs;

namespace Drk.Experiments.Matrix;

/// <summary>
/// One configuration of the machine under test, everything but the workload: engine, and for Drk the tier,
/// tool and scope. Values that do not apply to an engine are empty strings.
/// </summary>
public sealed record Variant(string Engine, string Tier, string Tool, string Scope, int Vcpus)
{
    /// <summary>The value of one dimension, as text.</summary>
    public string Value(Dimension dimension) => dimension switch
    {
        Dimension.Engine => Engine,
        Dimension.Tier => Tier,
        Dimension.Tool => Tool,
        Dimension.Scope => Scope,
        Dimension.Vcpus => Vcpus.ToString(CultureInfo.InvariantCulture),
        _ => throw new ArgumentOutOfRangeException(nameof(dimension)),
    };

    /// <summary>A label made of the given dimensions' values, skipping those that do not apply; the engine's name
    /// when none applies (QEMU has no tier), and empty for no dimensions.</summary>
    public string Label(IReadOnlyCollection<Dimension> dimensions)
    {
        if (dimensions.Count == 0) return "";
        var parts = new List<string>();
        foreach (var d in dimensions)
        {
            var v = Value(d);
            if (v.Length == 0) continue;
            parts.Add(d switch
            {
                Dimension.Vcpus => $"{v} vCPU{(Vcpus == 1 ? "" : "s")}",
                Dimension.Scope => $"[{v}]",
                Dimension.Tool when v == KnownNames.NoTool => "no tool",
                _ => v,
            });
        }
        return parts.Count == 0 ? Engine : string.Join(' ', parts);
    }

    /// <summary>The full label: every dimension.</summary>
    public override string ToString() => Label(Enum.GetValues<Dimension>());
}
