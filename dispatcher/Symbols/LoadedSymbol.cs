namespace Drk.Dispatcher.Symbols;

/// <summary>A function, variable or label of the kernel or a module at its run-time address.</summary>
public readonly record struct LoadedSymbol(string Name, ulong Address, ulong Size, ElfSymbolType Type, ElfSymbolBinding Binding)
{
    /// <summary>True for STT_FUNC symbols.</summary>
    public bool IsFunction => Type == ElfSymbolType.Function;
}
