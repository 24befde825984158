namespace Drk.Dispatcher.Lowering;

/// <summary>Lowers JMP, Jcc, JRCXZ, LOOP*, CALL, RET, INT n, INT3, UD2.</summary>
public sealed class ControlFlowLowering : IInstructionLowering
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
