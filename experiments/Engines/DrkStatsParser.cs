using System.Globalization;
using System.Text.RegularExpressions;

namespace Drk.Experiments.Engines;

/// <summary>
/// Reads the statistics <c>drk run --stats</c> prints on standard error: one <c>name: value</c> (or
/// <c>name=value</c>, or <c>stat name value</c>) per line. The retired-instruction count is the entry named
/// <c>instructions</c> (or <c>retired-instructions</c>, <c>guest-instructions</c>); every other numeric entry is
/// kept as a tool/engine statistic. Replace this class when <c>drk run</c> fixes its format.
/// </summary>
public static partial class DrkStatsParser
{
    private static readonly string[] InstructionNames = ["instructions", "retired-instructions", "guest-instructions", "retired_instructions"];

    public static (long? Instructions, IReadOnlyDictionary<string, double> Stats) Parse(IEnumerable<string> lines)
    {
        long? instructions = null;
        var stats = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in lines)
        {
            var m = StatLine().Match(line);
            if (!m.Success) continue;
            var name = m.Groups["name"].Value;
            var text = m.Groups["value"].Value.Replace(",", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal);
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)) continue;
            if (InstructionNames.Contains(name, StringComparer.OrdinalIgnoreCase) && value >= 0)
                instructions = (long)value;
            else
                stats[name] = value;
        }
        return (instructions, stats);
    }

    [GeneratedRegex(@"^\s*(?:stat\s+)?(?<name>[A-Za-z][\w.\-/]*)\s*(?::|=|\s)\s*(?<value>[0-9][0-9,_]*(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)\s*$")]
    private static partial Regex StatLine();
}
