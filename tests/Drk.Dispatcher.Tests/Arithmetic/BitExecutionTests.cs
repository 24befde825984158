using Drk.Dispatcher.Flags;
using Drk.Hv.Cpu;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Drk.Dispatcher.Tests.Arithmetic;

/// <summary>
/// Bit instructions executed on hand-checked values: bit strings with negative offsets, BSF/BSR
/// of 0, TZCNT/LZCNT/POPCNT flags, the BMI group at its edges, and the flag instructions.
/// </summary>
public sealed class BitExecutionTests
{
    private const ulong CF = Drk.Hv.Cpu.Rflags.CF, PF = Drk.Hv.Cpu.Rflags.PF, AF = Drk.Hv.Cpu.Rflags.AF, ZF = Drk.Hv.Cpu.Rflags.ZF, SF = Drk.Hv.Cpu.Rflags.SF, OF = Drk.Hv.Cpu.Rflags.OF;
    private const ulong AllSix = CF | PF | AF | ZF | SF | OF;

    [Fact]
    public void BitTestWithANegativeRegisterOffsetAddressesBelowTheOperand()
    {
        // -0x801 = -65 * 32 + 31: bit 31 of the dword 65 dwords (0x104 bytes) below [rbx]
        var m = new AluMachine(a => { a.bt(__dword_ptr[rbx], ecx); a.setc(r8b); a.bt(__word_ptr[rbx], dx); a.setc(r9b); });
        m[GuestReg.Rbx] = AluMachine.DataBase + 0x1000;
        m[GuestReg.Rcx] = 0xffff_ffff_0000_0000UL | unchecked((uint)-0x801); // ECX only: upper half ignored
        m[GuestReg.Rdx] = 0xffff_ffff_ffff_fff0; // DX = -16: bit 0 of the word just below [rbx]
        LittleEndianBytes.Write(m.Data, 0x1000 - 0x104, 0x8000_0000, 4);
        LittleEndianBytes.Write(m.Data, 0x1000 - 2, 0x0001, 2);
        m.Rflags = ZF | SF;
        m.Run();
        Assert.Equal(1UL, m[GuestReg.R8] & 0xff);
        Assert.Equal(1UL, m[GuestReg.R9] & 0xff);
    }

    [Fact]
    public void BitStringAddressWrapsAtFourGigabytesUnderA32BitAddressSize()
    {
        // [ebx] with EBX = 0x10 and offset -0x200 bits: 0x10 - 0x40 wraps to 0xffffffd0
        var m = new AluMachine(a => a.bt(__dword_ptr[ebx], ecx));
        m[GuestReg.Rbx] = 0x10;
        m[GuestReg.Rcx] = unchecked((uint)-0x200);
        var status = m.RunToFault(out var fault);
        Assert.Equal(Drk.Dispatcher.Execution.RunStatus.Exception, status);
        Assert.Equal(ExceptionVector.PageFault, fault.Vector);
        Assert.Equal(0xffff_ffd0UL, fault.Cr2);
    }

    [Fact]
    public void BitStringAddressAddsTheFsBase()
    {
        var m = new AluMachine(a => { a.bts(__qword_ptr.fs[rbx], rcx); a.setc(r8b); });
        m.State.Slots[GuestReg.FsBase] = AluMachine.DataBase;
        m[GuestReg.Rbx] = 0x100;
        m[GuestReg.Rcx] = 64 * 3 + 5; // bit 5 of the third qword after fs:[rbx]
        LittleEndianBytes.Write(m.Data, 0x100 + 24, 0x20, 8);
        m.Run();
        Assert.Equal(1UL, m[GuestReg.R8] & 0xff);
        Assert.Equal(0x20UL, LittleEndianBytes.Read(m.Data, 0x100 + 24, 8));
    }

    [Fact]
    public void BitTestOnARegisterTakesTheOffsetModuloTheWidthAndKeepsTheOtherFlags()
    {
        var m = new AluMachine(a => { a.bts(eax, ecx); a.btr(bx, dx); a.btc(rsi, 63); });
        m[GuestReg.Rax] = 0xffff_ffff_0000_0000;
        m[GuestReg.Rcx] = 37;  // 37 mod 32 = bit 5
        m[GuestReg.Rbx] = 0x1234_8001;
        m[GuestReg.Rdx] = 0xffff; // 15
        m[GuestReg.Rsi] = 1;
        m.Rflags = ZF | SF | PF | AF | OF;
        m.Run();
        Assert.Equal(0x20UL, m[GuestReg.Rax]);           // 32-bit write zero-extends
        Assert.Equal(0x1234_0001UL, m[GuestReg.Rbx]);    // 16-bit write merges
        Assert.Equal(0x8000_0000_0000_0001UL, m[GuestReg.Rsi]);
        Assert.Equal(ZF | SF | PF | AF | OF, m.ArithmeticFlags); // last CF was 0; the rest kept
    }

    [Theory]
    [InlineData(true, 2)]
    [InlineData(true, 4)]
    [InlineData(true, 8)]
    [InlineData(false, 2)]
    [InlineData(false, 4)]
    [InlineData(false, 8)]
    public void BitScanOfZeroKeepsTheWholeDestinationAndSetsZf(bool forward, int bytes)
    {
        var m = new AluMachine(a =>
        {
            switch (bytes, forward)
            {
                case (2, true): a.bsf(dx, cx); break;
                case (4, true): a.bsf(edx, ecx); break;
                case (8, true): a.bsf(rdx, rcx); break;
                case (2, false): a.bsr(dx, cx); break;
                case (4, false): a.bsr(edx, ecx); break;
                default: a.bsr(rdx, rcx); break;
            }
        });
        m[GuestReg.Rdx] = 0xdead_beef_cafe_babe;
        m[GuestReg.Rcx] = bytes == 8 ? 0 : 0xffff_ffff_ffff_ffffUL << (8 * bytes);
        m.Run();
        Assert.Equal(0xdead_beef_cafe_babeUL, m[GuestReg.Rdx]);
        Assert.Equal(ZF, m.ArithmeticFlags & ZF);
    }

    [Fact]
    public void BitScanFindsTheLowestAndHighestSetBit()
    {
        var m = new AluMachine(a => { a.bsf(edx, ecx); a.bsr(rsi, rcx); a.bsr(di, cx); });
        m[GuestReg.Rdx] = ulong.MaxValue;
        m[GuestReg.Rsi] = ulong.MaxValue;
        m[GuestReg.Rdi] = ulong.MaxValue;
        m[GuestReg.Rcx] = 0x0040_0000_0000_0a00;
        m.Rflags = ZF;
        m.Run();
        Assert.Equal(9UL, m[GuestReg.Rdx]);                   // zero-extended
        Assert.Equal(54UL, m[GuestReg.Rsi]);
        Assert.Equal(0xffff_ffff_ffff_000bUL, m[GuestReg.Rdi]); // CX = 0x0a00: bit 11
        Assert.Equal(0UL, m.ArithmeticFlags & ZF);
    }

    [Theory]
    // TZCNT/LZCNT of 0: the width, CF = 1, ZF = 0
    [InlineData(Mnemonic.Tzcnt, 2, 0x0UL, 16UL, CF)]
    [InlineData(Mnemonic.Lzcnt, 4, 0x0UL, 32UL, CF)]
    [InlineData(Mnemonic.Tzcnt, 8, 0x0UL, 64UL, CF)]
    // a count of 0: ZF = 1
    [InlineData(Mnemonic.Tzcnt, 4, 0x1UL, 0UL, ZF)]
    [InlineData(Mnemonic.Lzcnt, 2, 0x8000UL, 0UL, ZF)]
    [InlineData(Mnemonic.Lzcnt, 8, 0x1UL, 63UL, 0UL)]
    [InlineData(Mnemonic.Tzcnt, 8, 0x8000_0000_0000_0000UL, 63UL, 0UL)]
    public void ZeroCountsSetCarryForAZeroSourceAndZeroForAZeroCount(Mnemonic op, int bytes, ulong source, ulong count, ulong flags)
    {
        var m = new AluMachine(a =>
        {
            var code = Enum.Parse<Code>($"{op}_r{bytes * 8}_rm{bytes * 8}");
            var dst = bytes switch { 2 => Register.DX, 4 => Register.EDX, _ => Register.RDX };
            var src = bytes switch { 2 => Register.CX, 4 => Register.ECX, _ => Register.RCX };
            a.AddInstruction(Instruction.Create(code, dst, src));
        });
        m[GuestReg.Rcx] = source;
        m[GuestReg.Rdx] = 0;
        m.Run();
        Assert.Equal(count, m[GuestReg.Rdx]);
        Assert.Equal(flags, m.ArithmeticFlags & (CF | ZF));
    }

    [Theory]
    [InlineData(0UL, 0UL, ZF)]
    [InlineData(0xff00_0000_0000_0001UL, 9UL, 0UL)]
    [InlineData(ulong.MaxValue, 64UL, 0UL)]
    public void PopcntClearsEveryFlagButZf(ulong source, ulong count, ulong flags)
    {
        var m = new AluMachine(a => a.popcnt(rdx, rcx));
        m[GuestReg.Rcx] = source;
        m.Rflags = AllSix;
        m.Run();
        Assert.Equal(count, m[GuestReg.Rdx]);
        Assert.Equal(flags, m.ArithmeticFlags);
    }

    [Theory]
    // index 0 clears everything; 8 keeps the low byte; index >= width keeps all and sets CF;
    // only bits 7:0 of the index count (0x108 is 8)
    [InlineData(8, 0UL, 0UL, ZF)]
    [InlineData(8, 8UL, 0xefUL, 0UL)]
    [InlineData(8, 0x108UL, 0xefUL, 0UL)]
    [InlineData(8, 63UL, 0x5ead_beef_cafe_beefUL, 0UL)]
    [InlineData(8, 64UL, 0xdead_beef_cafe_beefUL, CF | SF)]
    [InlineData(8, 255UL, 0xdead_beef_cafe_beefUL, CF | SF)]
    [InlineData(4, 32UL, 0xcafe_beefUL, CF | SF)]
    [InlineData(4, 31UL, 0x4afe_beefUL, 0UL)]
    public void BzhiZeroesFromTheIndexUp(int bytes, ulong index, ulong result, ulong flags)
    {
        var m = new AluMachine(a => { if (bytes == 8) a.bzhi(rdx, rsi, rcx); else a.bzhi(edx, esi, ecx); });
        m[GuestReg.Rsi] = 0xdead_beef_cafe_beef;
        m[GuestReg.Rcx] = index;
        m.Rflags = OF | AF;
        m.Run();
        Assert.Equal(result, m[GuestReg.Rdx]);
        Assert.Equal(flags, m.ArithmeticFlags & (CF | ZF | SF | OF));
    }

    [Fact]
    public void LowestSetBitInstructionsAndAndn()
    {
        var m = new AluMachine(a =>
        {
            a.blsi(eax, ecx);     // isolate the lowest set bit
            a.setc(r8b);
            a.blsmsk(rbx, rcx);   // mask up to it
            a.blsr(rdx, rcx);     // clear it
            a.blsr(rsi, rdi);     // of 0: CF = 1, ZF = 1
            a.setc(r9b);
            a.setz(r10b);
            a.andn(r11, rcx, r12);
        });
        m[GuestReg.Rcx] = 0x70f0_0000_0000_0a80;
        m[GuestReg.Rdi] = 0;
        m[GuestReg.R12] = ulong.MaxValue;
        m.Run();
        Assert.Equal(0x80UL, m[GuestReg.Rax]);
        Assert.Equal(1UL, m[GuestReg.R8] & 0xff);
        Assert.Equal(0xffUL, m[GuestReg.Rbx]);
        Assert.Equal(0x70f0_0000_0000_0a00UL, m[GuestReg.Rdx]);
        Assert.Equal(0UL, m[GuestReg.Rsi]);
        Assert.Equal(1UL, m[GuestReg.R9] & 0xff);
        Assert.Equal(1UL, m[GuestReg.R10] & 0xff);
        Assert.Equal(0x8f0f_ffff_ffff_f57fUL, m[GuestReg.R11]);
        Assert.Equal(0UL, m.ArithmeticFlags & (CF | OF | ZF));
        Assert.Equal(SF, m.ArithmeticFlags & SF);
    }

    [Fact]
    public void CarryInstructionsTouchOnlyCarry()
    {
        var m = new AluMachine(a =>
        {
            a.stc(); a.setc(r8b);
            a.cmc(); a.setc(r9b);
            a.cmc(); a.clc(); a.setc(r10b);
        });
        m.Rflags = ZF | SF | OF | PF | AF;
        m.Run();
        Assert.Equal(1UL, m[GuestReg.R8] & 0xff);
        Assert.Equal(0UL, m[GuestReg.R9] & 0xff);
        Assert.Equal(0UL, m[GuestReg.R10] & 0xff);
        Assert.Equal(ZF | SF | OF | PF | AF, m.ArithmeticFlags);
    }

    [Fact]
    public void DirectionFlagInstructionsTouchOnlyDf()
    {
        var m = new AluMachine(a => a.std());
        m.Rflags = CF | Drk.Hv.Cpu.Rflags.IF;
        m.Run();
        Assert.Equal(CF | Drk.Hv.Cpu.Rflags.IF | Drk.Hv.Cpu.Rflags.DF | Drk.Hv.Cpu.Rflags.Reserved1, m.Rflags);

        var n = new AluMachine(a => a.cld());
        n.Rflags = ZF | Drk.Hv.Cpu.Rflags.DF | Drk.Hv.Cpu.Rflags.IF;
        n.Run();
        Assert.Equal(ZF | Drk.Hv.Cpu.Rflags.IF | Drk.Hv.Cpu.Rflags.Reserved1, n.Rflags);
    }

    [Fact]
    public void LahfAndSahfMoveSfZfAfPfCfThroughAh()
    {
        var m = new AluMachine(a => { a.lahf(); a.mov(r8, rax); a.mov(ah, 0x2a); a.sahf(); });
        m[GuestReg.Rax] = 0x1111_1111_1111_1111;
        m.Rflags = CF | ZF | OF;
        m.Run();
        // AH = SF:ZF:0:AF:0:PF:1:CF = 0b0100_0011
        Assert.Equal(0x1111_1111_1111_4311UL, m[GuestReg.R8]);
        // SAHF 0x2a = 0b0010_1010: only bits 1 and 3 and 5 set, none of them a flag -> all five clear, OF kept
        Assert.Equal(OF, m.ArithmeticFlags);
    }

    [Fact]
    public void IncAndDecKeepCarry()
    {
        var m = new AluMachine(a =>
        {
            a.inc(ecx); a.setc(r8b);
            a.stc(); a.dec(cl); a.setc(r9b);
            a.clc(); a.inc(rdx); a.setc(r10b); a.seto(r11b);
        });
        m[GuestReg.Rcx] = 0xffff_ffff;
        m[GuestReg.Rdx] = 0x7fff_ffff_ffff_ffff;
        m.Rflags = CF;
        m.Run();
        Assert.Equal(0xffUL, m[GuestReg.Rcx]);           // inc ecx -> 0 (zero-extended), dec cl -> 0xff
        Assert.Equal(1UL, m[GuestReg.R8] & 0xff);
        Assert.Equal(1UL, m[GuestReg.R9] & 0xff);
        Assert.Equal(0UL, m[GuestReg.R10] & 0xff);
        Assert.Equal(1UL, m[GuestReg.R11] & 0xff);
    }
}
