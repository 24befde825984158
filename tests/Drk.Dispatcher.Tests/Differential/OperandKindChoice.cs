namespace Drk.Dispatcher.Tests.Differential;

/// <summary>What a generated operand turned out to be.</summary>
public enum OperandKindChoice : byte
{
    None,
    Register,
    /// <summary>A memory operand that is accessed (its bytes are in scratch).</summary>
    Memory,
    /// <summary>A memory operand whose address is only computed (LEA, NOP r/m).</summary>
    AddressOnly,
    Immediate,
}
