using Drk.Dispatcher.Execution;
using Drk.Dispatcher.Flags;
using Drk.Dispatcher.IR;
using Drk.Dispatcher.Lowering;
using Drk.Hv.Cpu;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Drk.Dispatcher.Tests.Arithmetic;

/// <summary>
/// LOCK read-modify-writes of memory: hand-checked results and flags for every locked
/// arithmetic, logic and bit instruction, the same IR as the unlocked form, and a faulting
/// locked access that leaves memory, registers and flags as they were.
/// </summary>
public sealed class LockFormExecutionTests
{
    private const ulong CF = Drk.Hv.Cpu.Rflags.CF, PF = Drk.Hv.Cpu.Rflags.PF, AF = Drk.Hv.Cpu.Rflags.AF, ZF = Drk.Hv.Cpu.Rflags.ZF, SF = Drk.Hv.Cpu.Rflags.SF, OF = Drk.Hv.Cpu.Rflags.OF;

    /// <summary>Offset in the data page that RBX points at, so bit strings can reach below it.</summary>
    private const int Base = 0x100;

    public sealed record LockCase(string Name, Action<Assembler> Emit, ulong Rcx, ulong FlagsBefore,
        int Offset, int Size, ulong Before, ulong After, ulong FlagsAfter)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<LockCase> Cases() => new()
    {
        // 0x7fffffff + 1: signed overflow, carry out of bit 3, low byte 0 (even parity)
        new("lock add m32, imm", a => a.@lock.add(__dword_ptr[rbx], 1), 0, 0, 0, 4, 0x7fff_ffff, 0x8000_0000, OF | SF | AF | PF),
        // 0xff + 0 + CF
        new("lock adc m8, r8", a => a.@lock.adc(__byte_ptr[rbx], cl), 0, CF, 0, 1, 0xff, 0x00, CF | ZF | AF | PF),
        new("lock sub m16, r16", a => a.@lock.sub(__word_ptr[rbx], cx), 1, 0, 0, 2, 0x0000, 0xffff, CF | SF | AF | PF),
        // 0x8000000000000000 - 0 - CF: a negative minus a positive gives a positive
        new("lock sbb m64, r64", a => a.@lock.sbb(__qword_ptr[rbx], rcx), 0, CF, 0, 8, 0x8000_0000_0000_0000, 0x7fff_ffff_ffff_ffff, OF | AF | PF),
        new("lock and m64, r64", a => a.@lock.and(__qword_ptr[rbx], rcx), 0x0ff0_0ff0_0ff0_0ff0, CF | OF, 0, 8, 0xff00_ff00_ff00_ff00, 0x0f00_0f00_0f00_0f00, PF),
        new("lock or m8, imm", a => a.@lock.or(__byte_ptr[rbx], 0x80), 0, 0, 0, 1, 0x01, 0x81, SF | PF),
        new("lock xor m32, r32", a => a.@lock.xor(__dword_ptr[rbx], ecx), 0x1234_5678, 0, 0, 4, 0x1234_5678, 0, ZF | PF),
        // INC and DEC keep CF, whichever it is
        new("lock inc m16", a => a.@lock.inc(__word_ptr[rbx]), 0, CF, 0, 2, 0xffff, 0x0000, CF | ZF | AF | PF),
        new("lock dec m64", a => a.@lock.dec(__qword_ptr[rbx]), 0, 0, 0, 8, 0, ulong.MaxValue, SF | AF | PF),
        // NEG 0x80 = 0x80: CF (source not 0), OF (0 - -128 overflows)
        new("lock neg m8", a => a.@lock.neg(__byte_ptr[rbx]), 0, 0, 0, 1, 0x80, 0x80, CF | OF | SF),
        // NOT changes no flag
        new("lock not m32", a => a.@lock.not(__dword_ptr[rbx]), 0, CF | ZF, 0, 4, 0x0f0f_0f0f, 0xf0f0_f0f0, CF | ZF),
        // bit string: offset 35 is bit 3 of the dword after [rbx]; CF = the old bit, ZF kept
        new("lock bts m32, r32", a => a.@lock.bts(__dword_ptr[rbx], ecx), 35, ZF, 4, 4, 0x0000_0000, 0x0000_0008, ZF),
        // bit string: offset -1 is bit 63 of the qword before [rbx]
        new("lock btr m64, r64", a => a.@lock.btr(__qword_ptr[rbx], rcx), ulong.MaxValue, 0, -8, 8, 0x8000_0000_0000_0001, 0x0000_0000_0000_0001, CF),
        // an immediate offset is taken modulo the width: 17 is bit 1 of [rbx] itself
        new("lock btc m16, imm", a => a.@lock.btc(__word_ptr[rbx], 17), 0, 0, 0, 2, 0x0002, 0x0000, CF),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void LockedReadModifyWrite(LockCase c)
    {
        var m = new AluMachine(c.Emit);
        m[GuestReg.Rbx] = AluMachine.DataBase + Base;
        m[GuestReg.Rcx] = c.Rcx;
        m.Rflags = c.FlagsBefore;
        // guard bytes around the operand must survive
        for (int i = 0; i < AluMachine.DataSize; i++) m.Data[i] = 0x5a;
        LittleEndianBytes.Write(m.Data, Base + c.Offset, c.Before, c.Size);
        m.Run();
        Assert.Equal(c.After, LittleEndianBytes.Read(m.Data, Base + c.Offset, c.Size));
        Assert.Equal(c.FlagsAfter, m.ArithmeticFlags);
        for (int i = 0; i < AluMachine.DataSize; i++)
            if (i < Base + c.Offset || i >= Base + c.Offset + c.Size)
                Assert.True(m.Data[i] == 0x5a, $"byte {i - Base} around the operand changed");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void LockedFormLowersToTheSameIrAsTheUnlockedForm(LockCase c)
    {
        var locked = Decode(c.Emit);
        Assert.True(locked.HasLockPrefix, $"{locked} has no LOCK prefix");
        var plain = locked;
        plain.HasLockPrefix = false;
        var lockedIr = new Lowerer().Lower(new[] { new GuestInstruction(locked) }, 0);
        var plainIr = new Lowerer().Lower(new[] { new GuestInstruction(plain) }, 0);
        Assert.Equal(plainIr.Count, lockedIr.Count);
        // all ops but the closing Exit, whose target (the next RIP) moves with the prefix byte
        for (int i = 0; i < plainIr.Count - 1; i++)
            Assert.Equal(plainIr.Ops[i], lockedIr.Ops[i]);
        Assert.Equal(IrOpcode.Exit, lockedIr.Ops[^1].Code);
    }

    [Fact]
    public void LockedWriteToAReadOnlyPageFaultsWithNothingChanged()
    {
        var m = new AluMachine(a =>
        {
            a.lea(r15, __[r15 + 1]);
            a.@lock.add(__dword_ptr[rbx + 8], ecx);
        });
        m[GuestReg.Rbx] = AluMachine.ReadOnlyBase;
        m[GuestReg.Rcx] = 5;
        m.ReadOnly[8] = 0x7f;
        m.Rflags = CF | ZF;
        var expected = (ulong[])m.State.Slots.Clone();
        expected[GuestReg.R15] += 1;
        expected[GuestReg.Rip] = m.RipOf(1);

        var status = m.RunToFault(out var fault);

        Assert.Equal(RunStatus.Exception, status);
        Assert.Equal(ExceptionVector.PageFault, fault.Vector);
        Assert.Equal(m.RipOf(1), fault.Rip);
        Assert.Equal(AluMachine.ReadOnlyBase + 8, fault.Cr2);
        Assert.Equal(3u, fault.ErrorCode); // present, write
        Assert.Equal(expected, m.State.Slots);
        Assert.Equal(0x7f, m.ReadOnly[8]);
    }

    [Fact]
    public void LockedBitTestAndSetOnAnUnmappedWordFaultsOnTheRead()
    {
        // bit 64 lies in the qword after [rbx], the first one past the end of the data region
        var m = new AluMachine(a => a.@lock.bts(__qword_ptr[rbx], rcx));
        m[GuestReg.Rbx] = AluMachine.DataBase + AluMachine.DataSize - 8;
        m[GuestReg.Rcx] = 64;
        m.Rflags = ZF;
        var expected = (ulong[])m.State.Slots.Clone();

        var status = m.RunToFault(out var fault);

        Assert.Equal(RunStatus.Exception, status);
        Assert.Equal(ExceptionVector.PageFault, fault.Vector);
        Assert.Equal(AluMachine.DataBase + AluMachine.DataSize, fault.Cr2);
        Assert.Equal(0u, fault.ErrorCode & 2); // the read faults first
        Assert.Equal(expected, m.State.Slots);
    }

    private static Instruction Decode(Action<Assembler> emit)
    {
        var assembler = new Assembler(64);
        emit(assembler);
        var stream = new MemoryStream();
        assembler.Assemble(new StreamCodeWriter(stream), AluMachine.CodeBase);
        var decoder = Decoder.Create(64, new ByteArrayCodeReader(stream.ToArray()), AluMachine.CodeBase);
        return decoder.Decode();
    }
}
