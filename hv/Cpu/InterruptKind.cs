namespace Drk.Hv.Cpu;

/// <summary>Where an event delivered through the IDT comes from; decides the DPL check, EXT bit and return RIP.</summary>
public enum InterruptKind : byte
{
    /// <summary>A processor exception: returns to the faulting instruction (faults) and sets EXT in nested error codes.</summary>
    Exception,
    /// <summary>INT n, INT3 (and INTO): checks the gate's DPL against CPL, returns to the next instruction.</summary>
    SoftwareInterrupt,
    /// <summary>An interrupt from the local APIC, taken at an instruction boundary.</summary>
    External,
    /// <summary>A non-maskable interrupt (vector 2); blocks further NMIs until IRETQ.</summary>
    Nmi,
}
