using Drk.Dispatcher.Symbols;

namespace Drk.Dispatcher.Tools;

/// <summary>The symboliser of a kernel without symbols: every address is unknown.</summary>
internal sealed class NoSymbols : IAddressSymbolizer
{
    public static readonly NoSymbols Instance = new();

    public SourceLocation Symbolize(ulong address) => SourceLocation.Unknown(address);
}
