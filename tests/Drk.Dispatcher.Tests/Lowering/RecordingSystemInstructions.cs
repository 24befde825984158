using Drk.Hv.Cpu;
using Drk.Hv.Memory;

namespace Drk.Dispatcher.Tests.Lowering;

/// <summary>
/// A stand-in for the hypervisor's system instructions: records every call with its operands,
/// returns a scripted result, and for the ops that set registers or RIP does what the contract
/// says with fixed, recognisable values.
/// </summary>
internal sealed class RecordingSystemInstructions : ISystemInstructions
{
    public readonly record struct Call(SystemOp Op, ulong A, ulong B, ulong Rip);

    public readonly List<Call> Calls = new();

    /// <summary>What <c>result</c> returns for ops with a result.</summary>
    public ulong Result = 0x1234_5678_9abc_def0;

    /// <summary>Where IRETQ/SYSCALL/SYSRETQ jump to.</summary>
    public ulong JumpTarget;

    /// <summary>When set, every call faults with this exception.</summary>
    public GuestFault? FaultWith;

    /// <summary>The op that stops the machine (returns <see cref="SystemOutcome.Stop"/>), if any.</summary>
    public SystemOp? StopOn;

    public SystemOutcome Execute(SystemOp op, VcpuState state, IGuestMemory memory, ulong a, ulong b,
        out ulong result, out GuestFault fault)
    {
        Calls.Add(new Call(op, a, b, state.Rip));
        result = 0;
        fault = default;
        if (FaultWith is { } f)
        {
            fault = f;
            return SystemOutcome.Fault;
        }
        if (StopOn == op) return SystemOutcome.Stop;
        switch (op)
        {
            case SystemOp.Cpuid:
                state[GuestReg.Rax] = 0x11;
                state[GuestReg.Rbx] = 0x22;
                state[GuestReg.Rcx] = 0x33;
                state[GuestReg.Rdx] = 0x44;
                return SystemOutcome.Continue;
            case SystemOp.Rdtsc:
            case SystemOp.Rdmsr:
                state[GuestReg.Rax] = 0x89ab_cdef;
                state[GuestReg.Rdx] = 0x0123_4567;
                return SystemOutcome.Continue;
            case SystemOp.Iretq:
            case SystemOp.Syscall:
            case SystemOp.Sysretq:
                state.Rip = JumpTarget;
                return SystemOutcome.Jump;
            case SystemOp.Hlt:
                return SystemOutcome.Halt;
            default:
                result = Result;
                return SystemOutcome.Continue;
        }
    }
}
