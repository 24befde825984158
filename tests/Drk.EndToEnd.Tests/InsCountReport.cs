using System.Globalization;
using System.Text.RegularExpressions;

namespace Drk.EndToEnd.Tests;

/// <summary>What inscount printed at machine stop: its scope, total, kernel and module counts, and the count of each module.</summary>
public sealed partial record InsCountReport(string Scope, long Total, long Kernel, long Modules, IReadOnlyDictionary<string, long> PerModule)
{
    [GeneratedRegex(@"^inscount: scope=(?<scope>\S+) total=(?<total>\d+) kernel=(?<kernel>\d+) modules=(?<modules>\d+)$", RegexOptions.Multiline)]
    private static partial Regex SummaryLine();

    [GeneratedRegex(@"^inscount: module=(?<name>\S+) count=(?<count>\d+)$", RegexOptions.Multiline)]
    private static partial Regex ModuleLine();

    /// <summary>Parses the tools' output; fails the test when inscount's summary line is missing or given twice.</summary>
    public static InsCountReport Parse(string toolOutput)
    {
        var text = toolOutput.Replace("\r\n", "\n", StringComparison.Ordinal);
        var summaries = SummaryLine().Matches(text);
        Assert.True(summaries.Count == 1, $"expected one inscount summary line in:\n{toolOutput}");
        var s = summaries[0];
        var perModule = new Dictionary<string, long>();
        foreach (Match m in ModuleLine().Matches(text))
            Assert.True(perModule.TryAdd(m.Groups["name"].Value, Number(m, "count")), $"module {m.Groups["name"].Value} printed twice:\n{toolOutput}");
        return new InsCountReport(s.Groups["scope"].Value, Number(s, "total"), Number(s, "kernel"), Number(s, "modules"), perModule);
    }

    private static long Number(Match m, string group) => long.Parse(m.Groups[group].Value, CultureInfo.InvariantCulture);
}
