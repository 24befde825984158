namespace Drk.Hv.Cpu;

/// <summary>An 8-byte code or data segment descriptor from the GDT, decoded.</summary>
public readonly struct SegmentDescriptor
{
    public SegmentDescriptor(ulong raw) => Raw = raw;

    public ulong Raw { get; }

    /// <summary>The 32-bit base (what MOV to FS/GS loads into the base in 64-bit mode).</summary>
    public uint Base => (uint)(((Raw >> 16) & 0xFF_FFFF) | ((Raw >> 32) & 0xFF00_0000));

    /// <summary>The 4-bit type field.</summary>
    public int Type => (int)((Raw >> 40) & 0xF);

    /// <summary>S = 1: a code or data segment (not a system descriptor).</summary>
    public bool IsCodeOrData => (Raw & (1UL << 44)) != 0;

    public int Dpl => (int)((Raw >> 45) & 3);

    public bool Present => (Raw & (1UL << 47)) != 0;

    /// <summary>L: a 64-bit code segment.</summary>
    public bool Long => (Raw & (1UL << 53)) != 0;

    /// <summary>D/B: default operand size 32 (must be clear in a 64-bit code segment).</summary>
    public bool Default32 => (Raw & (1UL << 54)) != 0;

    public bool IsCode => IsCodeOrData && (Type & 8) != 0;

    public bool IsData => IsCodeOrData && (Type & 8) == 0;

    public bool IsConforming => IsCode && (Type & 4) != 0;

    /// <summary>A data segment, or a code segment with the readable bit.</summary>
    public bool IsReadable => IsData || (Type & 2) != 0;

    public bool IsWritableData => IsData && (Type & 2) != 0;

    /// <summary>A 64-bit code segment as long mode requires for interrupt handlers and IRETQ targets.</summary>
    public bool Is64BitCode => IsCode && Long && !Default32;
}
