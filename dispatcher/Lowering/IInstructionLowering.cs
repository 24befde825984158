namespace Drk.Dispatcher.Lowering;

/// <summary>
/// Lowers one family of x86 instructions to IR. The <see cref="Lowerer"/> asks each family in
/// turn; the first that returns true owns the instruction.
/// </summary>
public interface IInstructionLowering
{
    /// <summary>
    /// Emits the IR of <c>cx.Insn</c> and returns true, or returns false without emitting
    /// anything when the instruction is not of this family. A block-ending instruction emits its exit.
    /// </summary>
    bool TryLower(LoweringContext cx);
}
