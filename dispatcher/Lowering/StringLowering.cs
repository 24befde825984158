namespace Drk.Dispatcher.Lowering;

/// <summary>Lowers MOVS/STOS/LODS/CMPS/SCAS with REP/REPE/REPNE.</summary>
public sealed class StringLowering : IInstructionLowering
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
