using System.Text.RegularExpressions;

namespace Drk.Guest.Tests;

/// <summary>The guest's output conventions (docs/guest-abi.md): line endings, the marked line kinds and timing fields.</summary>
public static partial class SerialOutput
{
    /// <summary>Lines starting with this vary from run to run (times, tick counts).</summary>
    public const string TimingPrefix = "[t] ";

    /// <summary>Lines starting with this describe the machine (memory map, CPU source) and differ between machines.</summary>
    public const string MachinePrefix = "[m] ";

    /// <summary>Turns the console's "\r\n" line ends into "\n".</summary>
    public static string Normalize(string raw) => raw.Replace("\r\n", "\n", StringComparison.Ordinal);

    /// <summary>The output with timing lines removed: equal for two runs of the same machine and kernel.</summary>
    public static string WithoutTimingLines(string serial) => WithoutLines(serial, TimingPrefix);

    /// <summary>The output without timing and machine lines: what QEMU and Drk must agree on.</summary>
    public static string WithoutTimingAndMachineLines(string serial) =>
        WithoutLines(WithoutLines(serial, TimingPrefix), MachinePrefix);

    /// <summary>
    /// The output without timing lines and with the one timing field of other lines, a result line's
    /// <c>cycles=N</c>, replaced by <c>cycles=*</c>: what must repeat exactly from run to run.
    /// </summary>
    public static string WithoutTimingLinesAndFields(string serial) =>
        CyclesField().Replace(WithoutTimingLines(serial), "${head}cycles=*");

    /// <summary>The timer ticks the init thread reports at its end (<c>[t] init: done after N ticks</c>), or null without that line.</summary>
    public static long? InitTicks(string serial)
    {
        var line = InitDoneLine().Match(serial);
        return line.Success ? long.Parse(line.Groups["ticks"].Value, System.Globalization.CultureInfo.InvariantCulture) : null;
    }

    [GeneratedRegex(@"^\[t\] init: done after (?<ticks>\d+) ticks", RegexOptions.Multiline)]
    private static partial Regex InitDoneLine();

    [GeneratedRegex(@"(?<head>^result .*)cycles=\d+", RegexOptions.Multiline)]
    private static partial Regex CyclesField();

    private static string WithoutLines(string serial, string prefix) =>
        string.Join('\n', serial.Split('\n').Where(line => !line.StartsWith(prefix, StringComparison.Ordinal)));
}
