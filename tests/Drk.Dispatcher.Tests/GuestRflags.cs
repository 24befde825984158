using Drk.Dispatcher.Flags;
using Drk.Hv.Cpu;

namespace Drk.Dispatcher.Tests;

/// <summary>
/// RFLAGS of a dispatcher vCPU state as the execution tests read and set it. Setting is
/// <see cref="LazyFlagsAccess"/>'s; unlike it, the read masks nothing (the thunk's flags OR flags_other), so a stray
/// bit in either, or a missing bit 1, shows in the value a test compares.
/// </summary>
internal static class GuestRflags
{
    public static ulong Read(VcpuState state)
    {
        var s = state.Slots;
        return FlagsCalculator.Compute(s[GuestReg.CcOp], s[GuestReg.CcDep1], s[GuestReg.CcDep2], s[GuestReg.CcNdep])
            | s[GuestReg.FlagsOther];
    }

    /// <summary>Stores the arithmetic flags as a Copy thunk and the rest in flags_other (bit 1 always set), as the hypervisor does.</summary>
    public static void Write(VcpuState state, ulong value) => LazyFlagsAccess.Instance.WriteRflags(state, value);
}
