using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Drk.Experiments.Engines;

/// <summary>
/// Reads the statistics <c>drk run --stats</c> prints on standard error: one <c>name: value</c> (or
/// <c>name=value</c>, or <c>stat name value</c>) per line. The retired-instruction count is the entry named
/// <c>instructions</c> (or <c>retired-instructions</c>, <c>guest-instructions</c>); every other numeric entry is
/// kept as a tool/engine statistic. Tools report at machine stop as <c>TOOL: key=value key=value ...</c>
/// (inscount: <c>inscount: scope=kernel total=N kernel=N modules=N</c> and <c>inscount: module=NAME count=N</c>);
/// their numeric pairs are kept as <c>TOOL.key</c>, qualified by the line's text-valued pairs
/// (<c>inscount.module.chardev.count</c>) except <c>scope</c>, which is the run's own setting.
/// Replace this class when <c>drk run</c> fixes its format.
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
            if (!m.Success)
            {
                ParseToolLine(line, stats);
                continue;
            }
            var name = m.Groups["name"].Value;
            if (!TryNumber(m.Groups["value"].Value, out var value)) continue;
            if (InstructionNames.Contains(name, StringComparer.OrdinalIgnoreCase) && value >= 0)
                instructions = (long)value;
            else
                stats[name] = value;
        }
        return (instructions, stats);
    }

    private static void ParseToolLine(string line, Dictionary<string, double> stats)
    {
        var m = ToolLine().Match(line);
        if (!m.Success) return;
        var prefix = new StringBuilder(m.Groups["tool"].Value);
        var numbers = new List<(string Key, double Value)>();
        foreach (Capture pair in m.Groups["pair"].Captures)
        {
            var eq = pair.Value.IndexOf('=', StringComparison.Ordinal);
            var key = pair.Value[..eq];
            var text = pair.Value[(eq + 1)..];
            if (TryNumber(text, out var value)) numbers.Add((key, value));
            else if (key != "scope") prefix.Append('.').Append(key).Append('.').Append(text);
        }
        foreach (var (key, value) in numbers) stats[$"{prefix}.{key}"] = value;
    }

    private static bool TryNumber(string text, out double value) =>
        double.TryParse(text.Replace(",", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal),
            NumberStyles.Float, CultureInfo.InvariantCulture, out value);

    [GeneratedRegex(@"^\s*(?:stat\s+)?(?<name>[A-Za-z][\w.\-/]*)\s*(?::|=|\s)\s*(?<value>[0-9][0-9,_]*(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)\s*$")]
    private static partial Regex StatLine();

    [GeneratedRegex(@"^(?<tool>[A-Za-z][\w\-]*):(?:\s+(?<pair>[A-Za-z][\w.\-]*=[^\s=]+))+\s*$")]
    private static partial Regex ToolLine();
}
