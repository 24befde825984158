namespace Drk.Dispatcher.Tools.Reports;

/// <summary>
/// A heap block an error is about (say a kmalloc'd object) and the guest stack that allocated
/// or freed it: return addresses, innermost first, the first naming the allocator's caller.
/// </summary>
public sealed class MemoryBlockContext
{
    /// <summary>The block's first guest address.</summary>
    public required ulong Address { get; init; }

    /// <summary>The block's size in bytes as requested.</summary>
    public required ulong Size { get; init; }

    /// <summary>Return addresses at the allocation (or free), innermost first; may be empty.</summary>
    public IReadOnlyList<ulong> Stack { get; init; } = [];
}
