namespace Drk.Hv.Cpu;

/// <summary>
/// Reads and writes the whole RFLAGS of a vCPU whose arithmetic flags live in the lazy thunk.
/// The dispatcher implements it with its flag calculator; the hypervisor uses it where the
/// architecture moves RFLAGS as a value (interrupt frames, IRETQ, SYSCALL's R11, SYSRET).
/// </summary>
/// <remarks>
/// RFLAGS = <see cref="GuestReg.FlagsOther"/> | the six arithmetic flags computed from
/// (<see cref="GuestReg.CcOp"/>, <see cref="GuestReg.CcDep1"/>, <see cref="GuestReg.CcDep2"/>,
/// <see cref="GuestReg.CcNdep"/>). Writing must leave the thunk in the Copy form (cc_op 0,
/// cc_dep1 = the arithmetic bits) and the rest in FlagsOther with bit 1 set.
/// </remarks>
public interface IFlagsAccess
{
    /// <summary>The full RFLAGS value of <paramref name="state"/>.</summary>
    ulong ReadRflags(VcpuState state);

    /// <summary>Sets the full RFLAGS of <paramref name="state"/> to <paramref name="rflags"/>.</summary>
    void WriteRflags(VcpuState state, ulong rflags);
}
