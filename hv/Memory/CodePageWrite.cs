using Drk.Hv.Cpu;

namespace Drk.Hv.Memory;

/// <summary>A guest or device write that is about to modify a physical page watched as holding translated code.</summary>
public readonly struct CodePageWrite
{
    public CodePageWrite(ulong physicalAddress, int size, VcpuState? writer)
    {
        PhysicalAddress = physicalAddress;
        Size = size;
        Writer = writer;
    }

    /// <summary>Physical address of the first byte written in the watched page.</summary>
    public ulong PhysicalAddress { get; }

    /// <summary>Bytes written in the watched page (the part of a page-crossing write that falls in it).</summary>
    public int Size { get; }

    /// <summary>The vCPU whose instruction writes, or null for a write by the hypervisor itself.</summary>
    public VcpuState? Writer { get; }

    /// <summary>The 4 KiB-aligned physical page.</summary>
    public ulong Page => PhysicalAddress & ~(PhysicalMemory.PageSize - 1);
}
