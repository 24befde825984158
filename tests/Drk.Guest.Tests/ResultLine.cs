using System.Globalization;
using System.Text.RegularExpressions;

namespace Drk.Guest.Tests;

/// <summary>One workload's result line: <c>result workload=NAME iterations=N checksum=0xHEX cycles=N</c> (docs/guest-abi.md).</summary>
/// <param name="Workload">The workload's name.</param>
/// <param name="Iterations">How many iterations it ran.</param>
/// <param name="Checksum">The checksum of its work, as printed (0x and 16 hex digits).</param>
/// <param name="Cycles">Guest TSC cycles the measured loop took: the only field that varies between runs.</param>
public sealed partial record ResultLine(string Workload, long Iterations, string Checksum, long Cycles)
{
    [GeneratedRegex(@"^result workload=(?<w>[a-z0-9-]+) iterations=(?<i>\d+) checksum=(?<c>0x[0-9a-f]{16}) cycles=(?<t>\d+)$",
                    RegexOptions.Multiline)]
    private static partial Regex Pattern();

    /// <summary>Every well-formed result line of a serial log, in order.</summary>
    public static IReadOnlyList<ResultLine> ParseAll(string serial) =>
        Pattern().Matches(serial).Select(m => new ResultLine(
            m.Groups["w"].Value,
            long.Parse(m.Groups["i"].Value, CultureInfo.InvariantCulture),
            m.Groups["c"].Value,
            long.Parse(m.Groups["t"].Value, CultureInfo.InvariantCulture))).ToList();
}
