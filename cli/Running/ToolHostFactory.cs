using Drk.Dispatcher.Symbols;
using Drk.Dispatcher.Tools;

namespace Drk.Cli.Running;

/// <summary>
/// Makes the <see cref="ToolHost"/> of a run the way <c>drk run</c> does: symbols from the kernel's
/// ELF (a kernel without them still runs, with addresses unsymbolised and no function wraps or
/// module events); the host keeps them up to date with the modules the guest loads.
/// </summary>
internal static class ToolHostFactory
{
    /// <summary>A host for <paramref name="tools"/>; problems with symbols are one line on <paramref name="diagnostics"/>.</summary>
    public static ToolHost Create(byte[] kernel, IReadOnlyList<ITool> tools, InstrumentationScope scope,
        TextWriter output, TextWriter diagnostics, TextWriter? reportFile = null)
    {
        Symbolizer? symbols = null;
        try
        {
            symbols = Symbolizer.ForKernel(kernel);
        }
        catch (SymbolFileException e)
        {
            diagnostics.WriteLine($"drk: no kernel symbols ({e.Message}): tools see no modules and reports show addresses only");
        }
        var host = new ToolHost(tools, new ToolHostOptions
        {
            Scope = scope,
            Symbolizer = symbols,
            FindFunction = symbols is null ? null : name => FindFunction(symbols, name),
            Output = output,
            Diagnostics = diagnostics,
            ReportJsonLines = reportFile,
        });
        return host;
    }

    private static GuestFunction? FindFunction(Symbolizer symbols, string name)
    {
        foreach (var symbol in symbols.Kernel.Symbols.Symbols)
            if (symbol.IsFunction && symbol.Name == name) return new GuestFunction(name, symbol.Address, symbol.Size);
        return null;
    }
}
