namespace Drk.Dispatcher.Tools;

/// <summary>Whether a guest memory access reads or writes.</summary>
public enum MemoryAccessKind
{
    /// <summary>A load.</summary>
    Read,

    /// <summary>A store.</summary>
    Write,
}
