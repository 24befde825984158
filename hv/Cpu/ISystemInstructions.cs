using Drk.Hv.Memory;

namespace Drk.Hv.Cpu;

/// <summary>
/// The machine semantics of system instructions. The execution core decodes and lowers them;
/// the hypervisor implements this interface (privilege checks, control registers, MSRs,
/// descriptor tables, ports, delivery of IRETQ/SYSCALL/SYSRET).
/// </summary>
public interface ISystemInstructions
{
    /// <summary>
    /// Executes <paramref name="op"/> for the vCPU whose state is <paramref name="state"/>.
    /// Operands <paramref name="a"/>, <paramref name="b"/> and <paramref name="result"/> are
    /// described on each <see cref="SystemOp"/> member. RIP is the instruction's own RIP on
    /// entry; the caller advances it on <see cref="SystemOutcome.Continue"/> and
    /// <see cref="SystemOutcome.Halt"/>.
    /// </summary>
    SystemOutcome Execute(SystemOp op, VcpuState state, IGuestMemory memory, ulong a, ulong b,
        out ulong result, out GuestFault fault);

    /// <summary>
    /// Whether <paramref name="op"/>, run at CPL 0, does exactly what the architecture defines on
    /// the guest registers and <see cref="SystemRegisters"/> and nothing of this implementation's
    /// own (no check, count or device it would miss), so that a translator may carry it out inline
    /// instead of calling <see cref="Execute"/>. Translators ask only about the few ops they know
    /// how to do themselves (the JIT tier: CLI, STI and SWAPGS); the default is no.
    /// </summary>
    bool IsArchitecturalAtCpl0(SystemOp op) => false;
}
