using Iced.Intel;

namespace Drk.Dispatcher.IR;

/// <summary>One decoded guest instruction of a block, with its address and length.</summary>
public readonly struct GuestInstruction
{
    public readonly Instruction Instruction;

    public GuestInstruction(in Instruction instruction) => Instruction = instruction;

    /// <summary>Guest RIP of the instruction.</summary>
    public ulong Rip => Instruction.IP;

    /// <summary>Guest RIP of the next instruction.</summary>
    public ulong NextRip => Instruction.NextIP;

    public int Length => Instruction.Length;
}
