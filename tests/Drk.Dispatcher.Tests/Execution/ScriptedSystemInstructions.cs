using Drk.Hv.Cpu;
using Drk.Hv.Memory;

namespace Drk.Dispatcher.Tests.Execution;

/// <summary>A system-instruction stand-in that answers every call with one scripted outcome and records what it saw.</summary>
internal sealed class ScriptedSystemInstructions : ISystemInstructions
{
    public SystemOutcome Outcome = SystemOutcome.Continue;
    public ulong Result;
    public GuestFault FaultToReport;
    /// <summary>When set, a Jump outcome sets RIP here.</summary>
    public ulong JumpTarget;

    public readonly List<(SystemOp Op, ulong A, ulong B, ulong Rip)> Calls = new();

    /// <summary>What the instruction does to the guest state besides answering <see cref="Result"/> (as CPUID or SYSRET write registers).</summary>
    public Action<VcpuState>? Effect;

    /// <summary>The vCPU's retired-instruction clock at each call.</summary>
    public readonly List<ulong> Clocks = new();

    public SystemOutcome Execute(SystemOp op, VcpuState state, IGuestMemory memory, ulong a, ulong b, out ulong result, out GuestFault fault)
    {
        Calls.Add((op, a, b, state.Rip));
        Clocks.Add(state.InstructionsRetired);
        result = Result;
        fault = FaultToReport;
        Effect?.Invoke(state);
        if (Outcome == SystemOutcome.Jump) state.Rip = JumpTarget;
        return Outcome;
    }
}
