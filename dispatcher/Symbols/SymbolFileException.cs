namespace Drk.Dispatcher.Symbols;

/// <summary>An ELF object or its DWARF line information is malformed or uses a feature the readers do not support; the message says what and where.</summary>
public sealed class SymbolFileException : Exception
{
    /// <summary>Creates the exception with a message naming what is wrong and where in the file.</summary>
    public SymbolFileException(string message) : base(message) { }

    /// <summary>Creates the exception wrapping the failure that revealed the problem.</summary>
    public SymbolFileException(string message, Exception inner) : base(message, inner) { }
}
