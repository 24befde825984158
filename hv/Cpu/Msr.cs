namespace Drk.Hv.Cpu;

/// <summary>Numbers of the model-specific registers the machine implements (everything else is #GP).</summary>
public static class Msr
{
    public const uint Tsc = 0x10;
    public const uint ApicBase = 0x1B;
    public const uint Efer = 0xC000_0080;
    public const uint Star = 0xC000_0081;
    public const uint Lstar = 0xC000_0082;
    public const uint Cstar = 0xC000_0083;
    public const uint Fmask = 0xC000_0084;
    public const uint FsBase = 0xC000_0100;
    public const uint GsBase = 0xC000_0101;
    public const uint KernelGsBase = 0xC000_0102;
    public const uint TscAux = 0xC000_0103;

    /// <summary>APIC_BASE bit 8: this is the bootstrap processor.</summary>
    public const ulong ApicBaseBsp = 1UL << 8;
    /// <summary>APIC_BASE bit 10: x2APIC mode (not implemented; setting it is #GP).</summary>
    public const ulong ApicBaseX2Apic = 1UL << 10;
    /// <summary>APIC_BASE bit 11: the local APIC is globally enabled.</summary>
    public const ulong ApicBaseEnable = 1UL << 11;
}
