using System.Globalization;

namespace Drk.Experiments.Engines;

/// <summary>
/// Parses the guest's machine-readable result lines:
/// <c>result workload=&lt;name&gt; iterations=&lt;n&gt; checksum=&lt;hex&gt; cycles=&lt;n&gt;</c>, words separated
/// by spaces, in any order, unknown keys kept. This is the one place that knows the format; when
/// docs/guest-abi.md changes it, change this class.
/// </summary>
public static class GuestResultParser
{
    private const string Prefix = "result ";

    public static bool TryParse(string line, out GuestResult result)
    {
        result = null!;
        var text = line.Trim();
        if (!text.StartsWith(Prefix, StringComparison.Ordinal)) return false;
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var word in text[Prefix.Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = word.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) return false;
            fields[word[..eq]] = word[(eq + 1)..];
        }
        if (!fields.TryGetValue("workload", out var workload)) return false;
        result = new GuestResult(workload, Number(fields, "iterations"), fields.GetValueOrDefault("checksum"), Number(fields, "cycles"), fields);
        return true;
    }

    /// <summary>The result lines of a run's console output, in order.</summary>
    public static IReadOnlyList<GuestResult> ParseAll(IEnumerable<string> output)
    {
        var results = new List<GuestResult>();
        foreach (var line in output)
            if (TryParse(line, out var r)) results.Add(r);
        return results;
    }

    private static long? Number(Dictionary<string, string> fields, string key)
    {
        if (!fields.TryGetValue(key, out var text)) return null;
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            && long.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex))
            return hex;
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;
    }
}
