namespace Drk.Hv.Boot;

/// <summary>Where the loader put things, for diagnostics and tests.</summary>
public sealed record BootResult(
    ulong Entry,
    ulong StartInfoAddress,
    ulong Cr3,
    ulong KernelEnd,
    ulong InitrdAddress,
    ulong InitrdSize,
    ulong RsdpAddress,
    IReadOnlyList<MemoryMapEntry> MemoryMap);
