using System.Globalization;
using System.Text;

namespace Drk.Dispatcher.Tests.Symbols;

/// <summary>binutils' addr2line: the oracle for the DWARF line reader.</summary>
internal static class Addr2line
{
    /// <summary>File and line of each address (null file when addr2line knows none), in order.</summary>
    /// <param name="section">For a relocatable object: the section the addresses are offsets into (addr2line -j).</param>
    public static IReadOnlyList<(string? File, int Line)> Lookup(string path, IReadOnlyList<ulong> addresses, string? section = null)
    {
        var input = new StringBuilder();
        foreach (var address in addresses)
            input.Append("0x").Append(address.ToString("x", CultureInfo.InvariantCulture)).Append('\n');
        List<string> arguments = ["-e", path];
        if (section is not null)
            arguments.AddRange(["-j", section]);
        var lines = ExternalCommand.Run("addr2line", arguments, input.ToString()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(addresses.Count, lines.Length);

        var results = new List<(string?, int)>(lines.Length);
        foreach (var raw in lines)
        {
            // "path:line", "path:line (discriminator N)", "??:0" or "??:?".
            var line = raw;
            var discriminator = line.IndexOf(" (discriminator", StringComparison.Ordinal);
            if (discriminator >= 0)
                line = line[..discriminator];
            var colon = line.LastIndexOf(':');
            var file = line[..colon];
            var number = int.TryParse(line[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;
            results.Add(file == "??" || number == 0 ? (null, 0) : (file, number));
        }
        return results;
    }
}
