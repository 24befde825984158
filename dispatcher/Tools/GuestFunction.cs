namespace Drk.Dispatcher.Tools;

/// <summary>A guest function found by symbol: name, entry address and size in bytes.</summary>
public readonly record struct GuestFunction(string Name, ulong Address, ulong Size);
