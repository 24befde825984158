using Drk.Dispatcher.Symbols;

namespace Drk.Dispatcher.Tests.Tools.Reports;

/// <summary>
/// Functions at fixed ranges, with one source line per 4 bytes from the function's first line;
/// records the addresses it was asked about. Stands in for the ELF/DWARF symbolizer.
/// </summary>
public sealed class FakeSymbolizer : IAddressSymbolizer
{
    private readonly List<(ulong Start, ulong Size, string Module, string Function, string? File, int Line)> _functions = [];

    public List<ulong> Queries { get; } = [];

    public FakeSymbolizer Add(ulong start, ulong size, string module, string function, string? file = null, int line = 0)
    {
        _functions.Add((start, size, module, function, file, line));
        return this;
    }

    public SourceLocation Symbolize(ulong address)
    {
        Queries.Add(address);
        foreach (var f in _functions)
            if (address - f.Start < f.Size)
            {
                ulong offset = address - f.Start;
                return f.File is null
                    ? new SourceLocation(address, f.Module, f.Function, offset, null, 0)
                    : new SourceLocation(address, f.Module, f.Function, offset, f.File, f.Line + (int)(offset / 4));
            }
        return SourceLocation.Unknown(address);
    }
}
