namespace Drk.Dispatcher.Tests.Symbols;

/// <summary>A module object from guest/build/modules: its name, a private copy for the oracles, and its bytes.</summary>
internal sealed record GuestModuleObject(string Name, string Path, byte[] Bytes)
{
    public override string ToString() => Name;
}
