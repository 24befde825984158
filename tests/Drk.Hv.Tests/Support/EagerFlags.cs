using Drk.Hv.Cpu;

namespace Drk.Hv.Tests.Support;

/// <summary>
/// The trivial <see cref="IFlagsAccess"/> of the tests: flags are always kept in the thunk's Copy
/// form (cc_op 0, cc_dep1 = the arithmetic bits), so no flag calculator is needed.
/// </summary>
public sealed class EagerFlags : IFlagsAccess
{
    public static readonly EagerFlags Instance = new();

    public ulong ReadRflags(VcpuState state)
    {
        if (state.Slots[GuestReg.CcOp] != 0) throw new InvalidOperationException("test flags must stay in Copy form");
        return state.Slots[GuestReg.FlagsOther] | (state.Slots[GuestReg.CcDep1] & Drk.Hv.Cpu.Rflags.Arithmetic) | Drk.Hv.Cpu.Rflags.Reserved1;
    }

    public void WriteRflags(VcpuState state, ulong rflags)
    {
        state.Slots[GuestReg.CcOp] = 0;
        state.Slots[GuestReg.CcDep1] = rflags & Drk.Hv.Cpu.Rflags.Arithmetic;
        state.Slots[GuestReg.CcDep2] = 0;
        state.Slots[GuestReg.CcNdep] = 0;
        state.Slots[GuestReg.FlagsOther] = (rflags & ~Drk.Hv.Cpu.Rflags.Arithmetic) | Drk.Hv.Cpu.Rflags.Reserved1;
    }
}
