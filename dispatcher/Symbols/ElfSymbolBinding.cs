namespace Drk.Dispatcher.Symbols;

/// <summary>ELF symbol bindings (the high nibble of st_info).</summary>
public enum ElfSymbolBinding : byte
{
    /// <summary>STB_LOCAL: visible in its object only (static functions and variables).</summary>
    Local = 0,
    /// <summary>STB_GLOBAL.</summary>
    Global = 1,
    /// <summary>STB_WEAK.</summary>
    Weak = 2,
}
