namespace Drk.Hv;

/// <summary>What a <see cref="Machine"/> is made of: RAM size, vCPU count and where the serial port and diagnostics go.</summary>
public sealed class MachineConfig
{
    /// <summary>Guest RAM in bytes (multiple of 4 KiB, 1 MiB .. 3 GiB). Default 256 MiB.</summary>
    public ulong RamSize { get; init; } = Memory.PhysicalMemory.DefaultRamSize;

    /// <summary>Number of vCPUs (1 .. 254); vCPU i has APIC ID i, vCPU 0 is the bootstrap processor.</summary>
    public int CpuCount { get; init; } = 1;

    /// <summary>Receives the bytes the guest writes to COM1; null discards them.</summary>
    public Stream? SerialOutput { get; init; }

    /// <summary>Supplies the bytes the guest reads from COM1 (a file or pipe); null supplies none.</summary>
    public Stream? SerialInput { get; init; }

    /// <summary>Receives one line per first unhandled port, MMIO or MSR access; null keeps them in the log only.</summary>
    public TextWriter? DiagnosticLog { get; init; }
}
