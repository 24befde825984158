namespace Drk.Hv.Boot;

/// <summary>What the PVH loader passes to the kernel besides the image.</summary>
public sealed class BootOptions
{
    /// <summary>The kernel command line (UTF-8, at most 4095 bytes, no NUL).</summary>
    public string CommandLine { get; init; } = "";

    /// <summary>The initrd, loaded at the top of RAM as module 0; null for none.</summary>
    public byte[]? Initrd { get; init; }

    /// <summary>Build RSDP/RSDT/XSDT/MADT for the machine's CPUs and set rsdp_paddr (otherwise rsdp_paddr = 0).</summary>
    public bool BuildAcpi { get; init; } = true;
}
