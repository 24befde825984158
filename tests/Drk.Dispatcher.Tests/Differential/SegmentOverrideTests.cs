using Drk.Dispatcher.Execution;
using Drk.Hv.Cpu;
using Iced.Intel;

namespace Drk.Dispatcher.Tests.Differential;

/// <summary>
/// FS and GS segment overrides, through the interpreter only (the host's FS base belongs to the
/// .NET runtime, so these cannot run natively): the linear address is the base plus the
/// effective address, modulo 2^64, for loads, stores, read-modify-writes, moffs, stack and
/// string operands; LEA ignores the segment; a fault reports the linear address.
/// </summary>
public sealed class SegmentOverrideTests
{
    private const int Rax = 0, Rcx = 1, Rbx = 3, Rsp = 4, Rsi = 6, Rdi = 7;

    private static MemoryOperand Fs(Register baseReg, long displacement = 0) =>
        new(baseReg, Register.None, 1, displacement, displacement == 0 ? 0 : 8, false, Register.FS);

    private static MemoryOperand Gs(Register baseReg, long displacement = 0) =>
        new(baseReg, Register.None, 1, displacement, displacement == 0 ? 0 : 8, false, Register.GS);

    private static ulong Read(InterpreterCase c, ulong address, int size)
    {
        ulong v = 0;
        int o = (int)(address - c.Layout.ScratchAddress);
        for (int i = 0; i < size; i++) v |= (ulong)c.InitialScratch[o + i] << (8 * i);
        return v;
    }

    private static void Completed(InterpreterCase c) =>
        Assert.True(c.Outcome.Completed, $"{c.Outcome}\n{c.Listing()}");

    [Fact]
    public void Load_through_FS_adds_the_FS_base()
    {
        var c = new InterpreterCase { FsBase = TestAddress(0x3000) - 0x10 };
        c.Regs.Gpr[Rbx] = 0x10;
        c.Emit(Instruction.Create(Code.Mov_r64_rm64, Register.RAX, Fs(Register.RBX, 8)));
        c.Run();
        Completed(c);
        c.AssertRegisters(c.With((Rax, Read(c, c.Scratch(0x3008), 8))));
    }

    [Fact]
    public void Store_through_GS_with_an_absolute_displacement_adds_the_GS_base()
    {
        // The stack-protector pattern: mov %rcx, %gs:0x28.
        var c = new InterpreterCase { GsBase = TestAddress(0x4000) };
        c.Emit(Instruction.Create(Code.Mov_rm64_r64, new MemoryOperand(Register.None, Register.None, 1, 0x28, 8, false, Register.GS), Register.RCX));
        c.Run();
        Completed(c);
        c.AssertRegisters();
        c.AssertScratchUnchanged((c.Scratch(0x4028), BitConverter.GetBytes(c.Regs.Gpr[Rcx])));
    }

    [Fact]
    public void Read_modify_write_through_FS_with_an_index()
    {
        var c = new InterpreterCase { FsBase = TestAddress(0x2000) };
        c.Regs.Gpr[Rax] = 3;
        c.Emit(Instruction.Create(Code.Add_rm32_imm8, new MemoryOperand(Register.None, Register.RAX, 4, 0x10, 8, false, Register.FS), 5));
        c.Run();
        Completed(c);
        ulong address = c.Scratch(0x2000 + 3 * 4 + 0x10);
        uint expected = (uint)Read(c, address, 4) + 5;
        c.AssertScratchUnchanged((address, BitConverter.GetBytes(expected)));
    }

    [Fact]
    public void Moffs_load_through_FS()
    {
        var c = new InterpreterCase { FsBase = TestAddress(0x6000) };
        var insn = Instruction.Create(Code.Mov_RAX_moffs64, Register.RAX, new MemoryOperand(Register.None, Register.None, 1, 0x18, 8, false, Register.FS));
        c.Emit(insn);
        c.Run();
        Completed(c);
        c.AssertRegisters(c.With((Rax, Read(c, c.Scratch(0x6018), 8))));
    }

    [Fact]
    public void LEA_ignores_the_segment_override()
    {
        var c = new InterpreterCase { FsBase = TestAddress(0x6000), GsBase = TestAddress(0x7000) };
        c.Emit(Instruction.Create(Code.Lea_r64_m, Register.RAX, Fs(Register.RBX, 8)));
        c.Emit(Instruction.Create(Code.Lea_r64_m, Register.RCX, Gs(Register.RBX, -8)));
        c.Run();
        Completed(c);
        c.AssertRegisters(c.With((Rax, c.Regs.Gpr[Rbx] + 8), (Rcx, c.Regs.Gpr[Rbx] - 8)));
    }

    [Fact]
    public void Base_plus_offset_wraps_around_modulo_2_to_the_64()
    {
        var c = new InterpreterCase { FsBase = TestAddress(0x5000) + 0x1000 };
        c.Regs.Gpr[Rbx] = unchecked((ulong)-0x1000 + 0x10);
        c.Emit(Instruction.Create(Code.Mov_r32_rm32, Register.EAX, Fs(Register.RBX)));
        c.Run();
        Completed(c);
        c.AssertRegisters(c.With((Rax, Read(c, c.Scratch(0x5010), 4))));
    }

    [Fact]
    public void Push_of_a_GS_memory_operand()
    {
        var c = new InterpreterCase { GsBase = TestAddress(0x1000) };
        c.Regs.Gpr[Rbx] = 0x40;
        c.Emit(Instruction.Create(Code.Push_rm64, Gs(Register.RBX)));
        c.Run();
        Completed(c);
        ulong rsp = c.Regs.Gpr[Rsp] - 8;
        c.AssertRegisters(c.With((Rsp, rsp)));
        c.AssertScratchUnchanged((rsp, BitConverter.GetBytes(Read(c, c.Scratch(0x1040), 8))));
    }

    [Fact]
    public void CMPXCHG_through_GS_exchanges_when_equal()
    {
        var c = new InterpreterCase { GsBase = TestAddress(0x2400) };
        c.Regs.Gpr[Rbx] = 0x20;
        c.Emit(Instruction.Create(Code.Cmpxchg_rm64_r64, Gs(Register.RBX), Register.RCX));
        // RAX must equal the old value: set it from the scratch pattern before running.
        c.Regs.Gpr[Rax] = BitConverter.ToUInt64(c.Cpu.Scratch.Slice(0x2420, 8));
        c.Run();
        Completed(c);
        Assert.Equal(c.Regs.Gpr[Rcx], BitConverter.ToUInt64(c.Cpu.Scratch.Slice(0x2420, 8)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void REP_MOVSB_with_an_FS_source_reads_at_the_FS_base(bool backwards)
    {
        var c = new InterpreterCase { FsBase = TestAddress(0x3000) };
        const int count = 24;
        c.Regs.Gpr[Rcx] = count;
        c.Regs.Gpr[Rsi] = backwards ? 0x100UL + count - 1 : 0x100UL;
        c.Regs.Gpr[Rdi] = backwards ? c.Scratch(0x8000) + count - 1 : c.Scratch(0x8000);
        if (backwards) c.Regs.Rflags |= Drk.Hv.Cpu.Rflags.DF;
        c.Emit(Instruction.CreateMovsb(64, Register.FS, RepPrefixKind.Repe));
        c.Run();
        Completed(c);
        var copied = c.InitialScratch.AsSpan(0x3100, count).ToArray();
        c.AssertScratchUnchanged((c.Scratch(0x8000), copied));
        long step = backwards ? -count : count;
        c.AssertRegisters(c.With((Rcx, 0), (Rsi, (ulong)((long)c.Regs.Gpr[Rsi] + step)), (Rdi, (ulong)((long)c.Regs.Gpr[Rdi] + step))));
    }

    [Fact]
    public void LODSQ_with_a_GS_source()
    {
        var c = new InterpreterCase { GsBase = TestAddress(0x4400) };
        c.Regs.Gpr[Rsi] = 0x18;
        c.Emit(Instruction.CreateLodsq(64, Register.GS));
        c.Run();
        Completed(c);
        c.AssertRegisters(c.With((Rax, Read(c, c.Scratch(0x4418), 8)), (Rsi, 0x20UL)));
    }

    [Fact]
    public void A_fault_through_FS_reports_the_linear_address()
    {
        var c = new InterpreterCase();
        c.FsBase = c.Unmapped;
        c.Regs.Gpr[Rbx] = 0x123;
        int load = c.Emit(Instruction.Create(Code.Mov_r64_rm64, Register.RAX, Fs(Register.RBX)));
        c.Run();
        var fault = c.AssertFault(ExceptionVector.PageFault, c.At(load));
        Assert.Equal(c.Unmapped + 0x123, fault.Cr2);
        c.AssertRegisters();
    }

    [Fact]
    public void A_non_canonical_FS_linear_address_raises_GP0()
    {
        var c = new InterpreterCase { FsBase = 0x0000_7FFF_FFFF_F000 };
        c.Regs.Gpr[Rbx] = 0x2000;
        int load = c.Emit(Instruction.Create(Code.Mov_r64_rm64, Register.RAX, Fs(Register.RBX)));
        c.Run();
        c.AssertFault(ExceptionVector.GeneralProtection, c.At(load));
        c.AssertRegisters();
    }

    private static ulong TestAddress(int scratchOffset) => Native.TestMachineLayout.Default.ScratchAddress + (ulong)scratchOffset;
}
