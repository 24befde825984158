using Iced.Intel;

namespace Drk.Dispatcher.Tests.Differential;

/// <summary>
/// The instruction a <see cref="CodeForm"/> generated for one case and what each operand became,
/// so a form-specific tweak can read and change operand values before the case is encoded.
/// </summary>
public sealed class OperandSet
{
    public OperandSet(CaseBuilder builder) => B = builder;

    public CaseBuilder B { get; }

    /// <summary>The instruction being generated (tweaks may change its immediates).</summary>
    public Instruction Insn;

    public readonly OperandKindChoice[] Kinds = new OperandKindChoice[5];
    public readonly Register[] Registers = new Register[5];
    public readonly int[] Sizes = new int[5];
    public readonly ulong[] Addresses = new ulong[5];

    public int Count;

    /// <summary>Operand <paramref name="n"/>'s width in bits.</summary>
    public int Bits(int n) => 8 * Sizes[n];

    /// <summary>The index of the memory operand, or -1.</summary>
    public int MemoryIndex
    {
        get
        {
            for (int i = 0; i < Count; i++) if (Kinds[i] == OperandKindChoice.Memory) return i;
            return -1;
        }
    }

    /// <summary>The current initial value of operand <paramref name="n"/> (register bits, memory bytes or immediate).</summary>
    public ulong Value(int n) => Kinds[n] switch
    {
        OperandKindChoice.Register => B.Get(Registers[n]),
        OperandKindChoice.Memory => B.ReadScratch(Addresses[n], Sizes[n]),
        OperandKindChoice.Immediate => Insn.GetImmediate(n),
        _ => 0,
    };

    /// <summary>Sets operand <paramref name="n"/>'s initial value (pinned registers keep theirs).</summary>
    public void SetValue(int n, ulong value)
    {
        switch (Kinds[n])
        {
            case OperandKindChoice.Register: B.Set(Registers[n], value); break;
            case OperandKindChoice.Memory: B.WriteScratch(Addresses[n], Sizes[n], value); break;
            case OperandKindChoice.Immediate: Insn.SetImmediate(n, value); break;
        }
    }
}
