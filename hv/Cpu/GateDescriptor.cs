namespace Drk.Hv.Cpu;

/// <summary>A 16-byte long-mode IDT gate, decoded.</summary>
public readonly struct GateDescriptor
{
    /// <summary>Interrupt gate type (clears IF on delivery).</summary>
    public const int InterruptGate = 0xE;
    /// <summary>Trap gate type (leaves IF alone).</summary>
    public const int TrapGate = 0xF;

    public GateDescriptor(ulong low, ulong high)
    {
        Low = low;
        High = high;
    }

    public ulong Low { get; }
    public ulong High { get; }

    /// <summary>The handler's RIP.</summary>
    public ulong Offset => (Low & 0xFFFF) | ((Low >> 32) & 0xFFFF_0000) | (High << 32);

    /// <summary>The handler's code-segment selector.</summary>
    public ushort Selector => (ushort)(Low >> 16);

    /// <summary>Interrupt-stack-table index (0 = none).</summary>
    public int Ist => (int)((Low >> 32) & 7);

    public int Type => (int)((Low >> 40) & 0xF);

    /// <summary>True for bit 44 (S) clear, as every gate has.</summary>
    public bool IsSystem => (Low & (1UL << 44)) == 0;

    public int Dpl => (int)((Low >> 45) & 3);

    public bool Present => (Low & (1UL << 47)) != 0;

    /// <summary>Builds a gate (for tests and loaders).</summary>
    public static (ulong Low, ulong High) Encode(ulong offset, ushort selector, int type, int dpl, int ist = 0, bool present = true)
    {
        ulong low = (offset & 0xFFFF) | ((ulong)selector << 16) | ((ulong)(ist & 7) << 32)
                  | ((ulong)(type & 0xF) << 40) | ((ulong)(dpl & 3) << 45) | (present ? 1UL << 47 : 0)
                  | ((offset & 0xFFFF_0000) << 32);
        return (low, offset >> 32);
    }
}
