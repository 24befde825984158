namespace Drk.Dispatcher.Tools.Reports;

/// <summary>
/// One error found by a tool, as the tool knows it: raw guest addresses, not yet symbolised.
/// Given to <see cref="ReportChannel.Report"/>, which symbolises, folds, prints and records it.
/// </summary>
public sealed class ErrorReport
{
    /// <summary>What went wrong, lowercase-hyphenated: one of <see cref="ErrorKinds"/> or a tool's own.</summary>
    public required string Kind { get; init; }

    /// <summary>What the guest was doing.</summary>
    public AccessKind Access { get; init; }

    /// <summary>Bytes accessed (0 when <see cref="Access"/> has no size: execute, free, none).</summary>
    public int Size { get; init; }

    /// <summary>The guest virtual address accessed (or freed, or jumped to).</summary>
    public ulong Address { get; init; }

    /// <summary>The guest instruction that did it (its original address, not a code-cache one).</summary>
    public required ulong Rip { get; init; }

    /// <summary>The vCPU that ran it.</summary>
    public int Vcpu { get; init; }

    /// <summary>Return addresses of the frames above <see cref="Rip"/>, innermost first (from the frame-pointer walk); may be empty.</summary>
    public IReadOnlyList<ulong> Stack { get; init; } = [];

    /// <summary>The block the address belongs to (or is nearest to) and where it was allocated, when the tool knows.</summary>
    public MemoryBlockContext? Allocation { get; init; }

    /// <summary>Where the block was freed (same block as <see cref="Allocation"/>), for use-after-free and double free.</summary>
    public MemoryBlockContext? Free { get; init; }

    /// <summary>Anything else for people, one or more lines (e.g. BGI: "module 'e1000' holds rights r- on this byte"); not part of the title.</summary>
    public string? Details { get; init; }
}
