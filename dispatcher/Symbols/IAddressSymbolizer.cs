namespace Drk.Dispatcher.Symbols;

/// <summary>Turns a guest virtual address into module, function and (with debug info) source line.</summary>
/// <remarks>Implementations must be safe to call from tool callbacks on the execution thread; they never touch guest state.</remarks>
public interface IAddressSymbolizer
{
    /// <summary>What is known about <paramref name="address"/>; fields that cannot be found are null or 0.</summary>
    SourceLocation Symbolize(ulong address);
}
