namespace Drk.Dispatcher.Lowering;

/// <summary>Lowers MOV, MOVZX/MOVSX/MOVSXD, LEA, XCHG, CMPXCHG(16B), XADD, PUSH/POP(F), LEAVE, ENTER, BSWAP, CBW.., CWD.., CMOVcc, SETcc, NOPs, fences.</summary>
public sealed class DataMovementLowering : IInstructionLowering
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
