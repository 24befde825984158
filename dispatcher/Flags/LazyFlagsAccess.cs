using Drk.Hv.Cpu;

namespace Drk.Dispatcher.Flags;

/// <summary>
/// The hypervisor's view of RFLAGS for vCPUs run by the dispatcher: the six arithmetic flags come
/// from the lazy thunk through <see cref="FlagsCalculator"/>, everything else from
/// <see cref="GuestReg.FlagsOther"/>.
/// </summary>
/// <remarks>
/// Used where the architecture moves RFLAGS as a value (interrupt frames, IRETQ, SYSCALL/SYSRET,
/// dumps), never per block, so computing the flags costs one <see cref="FlagsCalculator.Compute"/>.
/// Stateless: one instance serves every vCPU and machine.
/// </remarks>
public sealed class LazyFlagsAccess : IFlagsAccess
{
    /// <summary>The shared instance.</summary>
    public static readonly LazyFlagsAccess Instance = new();

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException">cc_op holds no flags kind (a lowering bug, or a state assigned by hand).</exception>
    public ulong ReadRflags(VcpuState state)
    {
        var s = state.Slots;
        ulong arithmetic = FlagsCalculator.Compute(s[GuestReg.CcOp], s[GuestReg.CcDep1], s[GuestReg.CcDep2], s[GuestReg.CcNdep]);
        return (s[GuestReg.FlagsOther] & ~Rflags.Arithmetic) | (arithmetic & Rflags.Arithmetic) | Rflags.Reserved1;
    }

    /// <inheritdoc />
    public void WriteRflags(VcpuState state, ulong rflags)
    {
        var s = state.Slots;
        // The Copy form: later blocks read the flags straight out of cc_dep1.
        s[GuestReg.CcOp] = FlagsOps.Copy;
        s[GuestReg.CcDep1] = rflags & Rflags.Arithmetic;
        s[GuestReg.CcDep2] = 0;
        s[GuestReg.CcNdep] = 0;
        s[GuestReg.FlagsOther] = (rflags & ~Rflags.Arithmetic) | Rflags.Reserved1;
    }
}
