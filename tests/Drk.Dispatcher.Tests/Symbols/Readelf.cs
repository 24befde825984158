using System.Globalization;
using System.Text.RegularExpressions;

namespace Drk.Dispatcher.Tests.Symbols;

/// <summary>Section headers and symbols as binutils' readelf prints them: the oracle for the ELF reader.</summary>
internal static partial class Readelf
{
    /// <summary>One line of <c>readelf -SW</c>.</summary>
    public sealed record Section(int Index, string Name, string Type, ulong Address, ulong Offset, ulong Size, string Flags)
    {
        public bool IsAllocated => Flags.Contains('A');
        public bool IsExecutable => Flags.Contains('X');
    }

    /// <summary>One line of <c>readelf -sW</c>; Section is null for UND, ABS and COM.</summary>
    public sealed record Symbol(int Index, string Name, ulong Value, ulong Size, string Type, string Binding, int? Section);

    public static IReadOnlyList<Section> Sections(string path)
    {
        var sections = new List<Section>();
        foreach (var line in ExternalCommand.Run("readelf", ["-SW", path]).Split('\n'))
        {
            var m = SectionLine().Match(line);
            if (!m.Success)
                continue;
            sections.Add(new Section(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), m.Groups[2].Value, m.Groups[3].Value,
                                     Hex(m.Groups[4].Value), Hex(m.Groups[5].Value), Hex(m.Groups[6].Value), m.Groups[8].Value));
        }
        Assert.NotEmpty(sections);
        return sections;
    }

    public static IReadOnlyList<Symbol> Symbols(string path)
    {
        var symbols = new List<Symbol>();
        var inSymtab = false;
        foreach (var line in ExternalCommand.Run("readelf", ["-sW", path]).Split('\n'))
        {
            if (line.StartsWith("Symbol table", StringComparison.Ordinal))
            {
                inSymtab = line.Contains("'.symtab'", StringComparison.Ordinal);
                continue;
            }
            var m = SymbolLine().Match(line);
            if (!inSymtab || !m.Success)
                continue;
            var sizeText = m.Groups[3].Value;
            var size = sizeText.StartsWith("0x", StringComparison.Ordinal) ? Hex(sizeText[2..]) : ulong.Parse(sizeText, CultureInfo.InvariantCulture);
            int? section = int.TryParse(m.Groups[7].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : null;
            symbols.Add(new Symbol(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), m.Groups[8].Value.TrimEnd(),
                                   Hex(m.Groups[2].Value), size, m.Groups[4].Value, m.Groups[5].Value, section));
        }
        Assert.NotEmpty(symbols);
        return symbols;
    }

    private static ulong Hex(string text) => ulong.Parse(text, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^\s*\[\s*(\d+)\]\s(\S*)\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([A-Za-z]*)\s+(\d+)\s+(\d+)\s+(\d+)\s*$")]
    private static partial Regex SectionLine();

    [GeneratedRegex(@"^\s*(\d+):\s+([0-9a-f]+)\s+(0x[0-9a-f]+|\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s?(.*)$")]
    private static partial Regex SymbolLine();
}
