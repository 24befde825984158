namespace Drk.Hv.Boot;

/// <summary>A PT_LOAD program header of a kernel image.</summary>
public readonly record struct ElfSegment(ulong FileOffset, ulong FileSize, ulong VirtualAddress, ulong PhysicalAddress,
    ulong MemorySize, uint Flags)
{
    public const uint FlagExecute = 1, FlagWrite = 2, FlagRead = 4;

    /// <summary>One past the last physical byte.</summary>
    public ulong PhysicalEnd => PhysicalAddress + MemorySize;

    public bool Executable => (Flags & FlagExecute) != 0;
}
