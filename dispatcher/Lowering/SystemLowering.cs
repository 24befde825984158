namespace Drk.Dispatcher.Lowering;

/// <summary>Lowers CPUID, RDTSC(P), and the privileged instructions, lowered to System ops executed by the hypervisor.</summary>
public sealed class SystemLowering : IInstructionLowering
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
