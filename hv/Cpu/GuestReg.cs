namespace Drk.Hv.Cpu;

/// <summary>
/// Indices of the guest-state slots in <see cref="VcpuState.Slots"/>. The IR's GetReg/PutReg
/// name guest state by these numbers, so every tier reads and writes the same array.
/// </summary>
/// <remarks>
/// The sixteen GPRs use the x86 encoding order (RAX=0 ... R15=15), the same order as
/// Iced's <c>Register.RAX..R15</c> minus <c>Register.RAX</c>. RFLAGS is split: the six
/// arithmetic flags live in a lazy thunk (<see cref="CcOp"/>, <see cref="CcDep1"/>,
/// <see cref="CcDep2"/>, <see cref="CcNdep"/>), everything else (DF, IF, TF, AC, ID, IOPL, ...)
/// in <see cref="FlagsOther"/> with the six arithmetic bits kept zero there.
/// </remarks>
public static class GuestReg
{
    public const int Rax = 0, Rcx = 1, Rdx = 2, Rbx = 3, Rsp = 4, Rbp = 5, Rsi = 6, Rdi = 7;
    public const int R8 = 8, R9 = 9, R10 = 10, R11 = 11, R12 = 12, R13 = 13, R14 = 14, R15 = 15;

    /// <summary>The instruction pointer. Blocks write it only through their exits.</summary>
    public const int Rip = 16;

    /// <summary>Which operation last set the arithmetic flags (a <c>FlagsOp</c> value).</summary>
    public const int CcOp = 17;
    /// <summary>First operand (or result, depending on <see cref="CcOp"/>) of the flag thunk.</summary>
    public const int CcDep1 = 18;
    /// <summary>Second operand of the flag thunk.</summary>
    public const int CcDep2 = 19;
    /// <summary>Extra input of the flag thunk (old carry for ADC/SBB, old flags for INC/DEC and shifts by zero).</summary>
    public const int CcNdep = 20;
    /// <summary>RFLAGS bits other than CF/PF/AF/ZF/SF/OF (DF, IF, TF, AC, ID, IOPL, bit 1).</summary>
    public const int FlagsOther = 21;

    public const int FsBase = 22;
    public const int GsBase = 23;

    /// <summary>Number of slots.</summary>
    public const int Count = 24;

    private static readonly string[] Names =
    {
        "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
        "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
        "rip", "cc_op", "cc_dep1", "cc_dep2", "cc_ndep", "flags_other", "fs_base", "gs_base",
    };

    /// <summary>The slot's name as the IR printer shows it.</summary>
    public static string Name(int slot) => (uint)slot < (uint)Names.Length ? Names[slot] : $"slot{slot}";
}
