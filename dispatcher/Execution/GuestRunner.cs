using Drk.Hv.Cpu;
using Drk.Hv.Memory;

namespace Drk.Dispatcher.Execution;

/// <summary>
/// The simplest way to execute guest code: decode, lower and interpret block after block from
/// <c>state.Rip</c> until RIP equals a stop address, an exception is raised or a budget runs out.
/// No code cache, no tools: the reference semantics that faster tiers are tested against.
/// </summary>
public sealed class GuestRunner
{
    public GuestRunner(IGuestMemory memory, ISystemInstructions? system = null)
    {
        Memory = memory;
        System = system;
    }

    public IGuestMemory Memory { get; }

    /// <summary>The system-instruction implementation; when null, system instructions raise #UD.</summary>
    public ISystemInstructions? System { get; }

    /// <summary>Guest instructions retired by this runner so far.</summary>
    public long Retired { get; private set; }

    /// <summary>
    /// Runs until <c>state.Rip == stopRip</c> (checked at block boundaries and after every
    /// instruction that exits a block), an exception, HLT, or <paramref name="maxInstructions"/>.
    /// </summary>
    /// <param name="fault">Filled when the result is <see cref="RunStatus.Exception"/>; its RIP is the faulting instruction's.</param>
    public RunStatus Run(VcpuState state, ulong stopRip, long maxInstructions, out GuestFault fault)
    {
        throw new NotImplementedException("GuestRunner.Run: written with the interpreter");
    }
}
