using Iced.Intel;

namespace Drk.Dispatcher.Tools;

/// <summary>
/// One guest instruction of an <see cref="InstrumentedBlock"/>: the decoded instruction (Iced's,
/// with its operands), its memory accesses, the flags it reads and writes and the flags still
/// live after it, and where its IR lies in the block.
/// </summary>
public sealed class InstrumentedInstruction
{
    internal InstrumentedInstruction(int index, in Instruction instruction, int firstOp, int opCount,
        MemoryAccess[] memoryAccesses, RflagsBits flagsLiveAfter, bool mayFault, bool endsBlock)
    {
        Index = index;
        Instruction = instruction;
        FirstOp = firstOp;
        OpCount = opCount;
        MemoryAccesses = memoryAccesses;
        FlagsLiveAfter = flagsLiveAfter;
        MayFault = mayFault;
        EndsBlock = endsBlock;
    }

    /// <summary>Position in the block (0 is the first instruction).</summary>
    public int Index { get; }

    /// <summary>The decoded instruction: mnemonic, operands, flags, as Iced gives them.</summary>
    public Instruction Instruction { get; }

    /// <summary>The guest RIP of the instruction.</summary>
    public ulong Rip => Instruction.IP;

    /// <summary>The RIP of the next instruction in memory.</summary>
    public ulong NextRip => Instruction.NextIP;

    /// <summary>Length in bytes.</summary>
    public int Length => Instruction.Length;

    /// <summary>The mnemonic.</summary>
    public Mnemonic Mnemonic => Instruction.Mnemonic;

    /// <summary>Index of the instruction's first op in <see cref="InstrumentedBlock.Ir"/>.</summary>
    public int FirstOp { get; }

    /// <summary>Number of ops the instruction lowered to.</summary>
    public int OpCount { get; }

    /// <summary>The instruction's memory accesses, in execution order (none for most instructions).</summary>
    public IReadOnlyList<MemoryAccess> MemoryAccesses { get; }

    /// <summary>True when the instruction reads or writes memory.</summary>
    public bool AccessesMemory => MemoryAccesses.Count > 0;

    /// <summary>Arithmetic flags the instruction reads.</summary>
    public RflagsBits FlagsRead => Instruction.RflagsRead;

    /// <summary>Arithmetic flags the instruction writes (or sets, clears or leaves undefined).</summary>
    public RflagsBits FlagsWritten => Instruction.RflagsModified;

    /// <summary>
    /// Flags that some later instruction may read before writing them: inserted code that
    /// changes flags must preserve these (inside the block the answer is exact; at the block's
    /// end every flag counts as live).
    /// </summary>
    public RflagsBits FlagsLiveAfter { get; }

    /// <summary>True when the instruction may fault (it accesses memory, divides, or runs a system instruction).</summary>
    public bool MayFault { get; }

    /// <summary>True for the block's last instruction when it transfers control (or stops the block).</summary>
    public bool EndsBlock { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Rip:x16} {Instruction}";
}
