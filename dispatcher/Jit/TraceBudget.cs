namespace Drk.Dispatcher.Jit;

/// <summary>
/// Where compiled traces must give control back to the run loop: the vCPU's retired-instruction
/// count at which the current round (or the instruction budget) ends. Traces check it at every
/// block boundary, so they stop exactly where the run loop would have stopped between blocks.
/// </summary>
public sealed class TraceBudget
{
    /// <summary>Traces leave at the first block boundary where <c>VcpuState.InstructionsRetired</c> has reached this.</summary>
    public ulong StopRetired;
}
