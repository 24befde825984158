namespace Drk.Hv.Cpu;

/// <summary>Bits of CR0, CR4 and EFER that the machine interprets.</summary>
public static class ControlBits
{
    public const ulong Cr0PE = 1UL << 0;
    public const ulong Cr0MP = 1UL << 1;
    public const ulong Cr0EM = 1UL << 2;
    public const ulong Cr0TS = 1UL << 3;
    public const ulong Cr0ET = 1UL << 4;
    public const ulong Cr0NE = 1UL << 5;
    public const ulong Cr0WP = 1UL << 16;
    public const ulong Cr0AM = 1UL << 18;
    public const ulong Cr0NW = 1UL << 29;
    public const ulong Cr0CD = 1UL << 30;
    public const ulong Cr0PG = 1UL << 31;
    /// <summary>CR0 bits a guest may set; any other bit makes MOV to CR0 raise #GP(0).</summary>
    public const ulong Cr0Writable = Cr0PE | Cr0MP | Cr0EM | Cr0TS | Cr0ET | Cr0NE | Cr0WP | Cr0AM | Cr0NW | Cr0CD | Cr0PG;

    public const ulong Cr4TSD = 1UL << 2;
    public const ulong Cr4DE = 1UL << 3;
    public const ulong Cr4PSE = 1UL << 4;
    public const ulong Cr4PAE = 1UL << 5;
    public const ulong Cr4MCE = 1UL << 6;
    public const ulong Cr4PGE = 1UL << 7;
    public const ulong Cr4PCE = 1UL << 8;
    public const ulong Cr4OSFXSR = 1UL << 9;
    public const ulong Cr4OSXMMEXCPT = 1UL << 10;
    public const ulong Cr4FSGSBASE = 1UL << 16;
    /// <summary>
    /// CR4 bits a guest may set: the ones whose features the CPUID table advertises or that have
    /// no effect on an emulated CPU. Others (SMEP, SMAP, PCIDE, LA57, OSXSAVE, ...) raise #GP(0).
    /// </summary>
    public const ulong Cr4Writable = Cr4TSD | Cr4DE | Cr4PSE | Cr4PAE | Cr4MCE | Cr4PGE | Cr4PCE
                                   | Cr4OSFXSR | Cr4OSXMMEXCPT | Cr4FSGSBASE;
    /// <summary>CR4 bits whose change invalidates cached translations.</summary>
    public const ulong Cr4PagingBits = Cr4PSE | Cr4PAE | Cr4PGE;

    public const ulong EferSCE = 1UL << 0;
    public const ulong EferLME = 1UL << 8;
    public const ulong EferLMA = 1UL << 10;
    public const ulong EferNXE = 1UL << 11;
    /// <summary>EFER bits a guest may write (LMA is written by the processor, not software).</summary>
    public const ulong EferWritable = EferSCE | EferLME | EferLMA | EferNXE;

    /// <summary>Physical-address width the machine implements (CPUID 0x80000008 EAX[7:0]).</summary>
    public const int PhysicalAddressBits = 40;
    /// <summary>Mask of the physical-address bits of a paging entry or CR3 (bits 39:12).</summary>
    public const ulong PhysicalPageMask = ((1UL << PhysicalAddressBits) - 1) & ~0xFFFUL;
}
