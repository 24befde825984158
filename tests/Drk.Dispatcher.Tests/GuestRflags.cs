using Drk.Dispatcher.Flags;
using Drk.Hv.Cpu;

namespace Drk.Dispatcher.Tests;

/// <summary>
/// RFLAGS of a dispatcher vCPU state as the execution tests read and set it. Unlike
/// <see cref="LazyFlagsAccess"/> the read masks nothing (the thunk's flags OR flags_other), so a stray
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

    /// <summary>Stores the arithmetic flags as a Copy thunk and the rest in flags_other (bit 1 always set).</summary>
    public static void Write(VcpuState state, ulong value)
    {
        var s = state.Slots;
        s[GuestReg.CcOp] = FlagsOps.Copy;
        s[GuestReg.CcDep1] = value & Rflags.Arithmetic;
        s[GuestReg.CcDep2] = 0;
        s[GuestReg.CcNdep] = 0;
        s[GuestReg.FlagsOther] = (value & ~Rflags.Arithmetic) | Rflags.Reserved1;
    }
}
