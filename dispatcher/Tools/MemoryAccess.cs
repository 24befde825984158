using Drk.Dispatcher.IR;

namespace Drk.Dispatcher.Tools;

/// <summary>
/// One guest memory access of an instruction, as its IR does it: a Load or Store op, the IR
/// value holding its virtual address, its size, and the value loaded or stored.
/// </summary>
/// <remarks>
/// Explicit operands and implicit accesses (the stack of PUSH, CALL and RET, string
/// instructions) are all listed. <see cref="Address"/> is defined at the access, so code inserted
/// with <see cref="InstrumentedBlock.InsertBefore(MemoryAccess)"/> can use it; <see cref="Value"/>
/// of a read is defined only after it (<see cref="InstrumentedBlock.InsertAfter(MemoryAccess)"/>).
/// </remarks>
public readonly record struct MemoryAccess(int Instruction, int OpIndex, MemoryAccessKind Kind, int Size, IrValue Address, IrValue Value)
{
    /// <summary>True for a store.</summary>
    public bool IsWrite => Kind == MemoryAccessKind.Write;
}
