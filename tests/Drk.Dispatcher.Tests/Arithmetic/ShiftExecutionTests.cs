using Drk.Dispatcher.Flags;
using Drk.Hv.Cpu;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Drk.Dispatcher.Tests.Arithmetic;

/// <summary>
/// Shifts and rotates executed with counts 0, 1, width-1, width, width+1 and counts of 32, 64 and
/// more, from CL and as immediates, at every size (high-byte registers included), against a
/// reference that follows the SDM's bit-at-a-time pseudo-code (independent of the lowering's
/// closed forms).
/// </summary>
public sealed class ShiftExecutionTests
{
    private const ulong CF = Drk.Hv.Cpu.Rflags.CF, PF = Drk.Hv.Cpu.Rflags.PF, AF = Drk.Hv.Cpu.Rflags.AF, ZF = Drk.Hv.Cpu.Rflags.ZF, SF = Drk.Hv.Cpu.Rflags.SF, OF = Drk.Hv.Cpu.Rflags.OF;

    private static readonly int[] Counts = { 0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255 };

    private static readonly ulong[] Values =
    {
        0, 1, 0x80, 0x8000, 0x8000_0000, 0x8000_0000_0000_0000, ulong.MaxValue, 0x7fff_ffff_ffff_ffff,
        0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210, 0x5555_5555_5555_5555,
    };

    public static TheoryData<Mnemonic, Register, bool> Forms()
    {
        var data = new TheoryData<Mnemonic, Register, bool>();
        foreach (var op in new[] { Mnemonic.Shl, Mnemonic.Shr, Mnemonic.Sar, Mnemonic.Rol, Mnemonic.Ror, Mnemonic.Rcl, Mnemonic.Rcr })
            foreach (var reg in new[] { Register.DL, Register.DH, Register.DX, Register.EDX, Register.RDX })
                foreach (bool byCl in new[] { true, false })
                    data.Add(op, reg, byCl);
        return data;
    }

    [Theory]
    [MemberData(nameof(Forms))]
    public void ShiftOrRotateMatchesTheBitAtATimeReference(Mnemonic op, Register reg, bool byCl)
    {
        int bits = reg.GetSize() * 8;
        foreach (int count in Counts)
        {
            var m = new AluMachine(a => Emit(a, op, reg, byCl ? null : (byte)count));
            foreach (ulong value in Values)
            {
                foreach (ulong flagsIn in new[] { 0UL, CF | PF | AF | ZF | SF | OF, CF | ZF })
                {
                    ulong regValue = value ^ 0xa5a5_0000_0000_0000;
                    m.State.Rip = AluMachine.CodeBase;
                    m[GuestReg.Rdx] = regValue;
                    m[GuestReg.Rcx] = 0xffff_ff00UL | (uint)count; // only CL counts
                    m.Rflags = flagsIn;
                    m.Run();

                    int shift = reg is Register.DH ? 8 : 0;
                    ulong mask = ulong.MaxValue >> (64 - bits);
                    ulong operand = (regValue >> shift) & mask;
                    var (result, flags, compared) = Reference(op, bits, operand, count, flagsIn);
                    ulong expectedRegister = bits switch
                    {
                        32 => result,
                        64 => result,
                        _ => (regValue & ~(mask << shift)) | (result << shift),
                    };
                    string what = $"{op} {reg},{(byCl ? "cl" : "imm")}={count} of {operand:x} flags {flagsIn:x}";
                    Assert.True(expectedRegister == m[GuestReg.Rdx], $"{what}: rdx {m[GuestReg.Rdx]:x}, expected {expectedRegister:x}");
                    ulong actualFlags = m.ArithmeticFlags;
                    Assert.True((flags & compared) == (actualFlags & compared),
                        $"{what}: flags {actualFlags:x}, expected {flags:x} (compared {compared:x})");
                }
            }
        }
    }

    /// <summary>The instruction <paramref name="op"/> reg, CL (no immediate) or reg, imm8.</summary>
    private static void Emit(Assembler a, Mnemonic op, Register reg, byte? imm)
    {
        int bits = reg.GetSize() * 8;
        var code = Enum.Parse<Code>(imm is null ? $"{op}_rm{bits}_CL" : $"{op}_rm{bits}_imm8");
        a.AddInstruction(imm is { } k ? Instruction.Create(code, reg, (int)k) : Instruction.Create(code, reg, Register.CL));
    }

    /// <summary>
    /// The SDM's pseudo-code, one bit per step. Returns the result, the flags and which flags are
    /// compared: all six when the masked count is 0 (nothing changes); otherwise CF, and OF only
    /// for a masked count of 1, plus SF/ZF/PF for shifts (AF is 1 after shifts in Drk) and the
    /// untouched SF/ZF/PF/AF for rotates.
    /// </summary>
    private static (ulong Result, ulong Flags, ulong Compared) Reference(Mnemonic op, int bits, ulong value, int count, ulong flagsIn)
    {
        ulong mask = ulong.MaxValue >> (64 - bits);
        int masked = count & (bits == 64 ? 0x3f : 0x1f);
        if (masked == 0) return (value, flagsIn, Drk.Hv.Cpu.Rflags.Arithmetic);
        ulong Msb(ulong x) => (x >> (bits - 1)) & 1;
        ulong dest = value, cf = flagsIn & 1, of = 0;
        bool isShift = op is Mnemonic.Shl or Mnemonic.Shr or Mnemonic.Sar;
        switch (op)
        {
            case Mnemonic.Shl:
                for (int i = 0; i < masked; i++) { cf = Msb(dest); dest = (dest << 1) & mask; }
                of = Msb(dest) ^ cf;
                break;
            case Mnemonic.Shr:
                of = Msb(value);
                for (int i = 0; i < masked; i++) { cf = dest & 1; dest >>= 1; }
                break;
            case Mnemonic.Sar:
                for (int i = 0; i < masked; i++) { cf = dest & 1; dest = (dest >> 1) | (Msb(dest) << (bits - 1)); }
                break;
            case Mnemonic.Rol:
                for (int i = 0; i < masked % bits; i++) dest = ((dest << 1) | Msb(dest)) & mask;
                cf = dest & 1;
                of = Msb(dest) ^ cf;
                break;
            case Mnemonic.Ror:
                for (int i = 0; i < masked % bits; i++) dest = (dest >> 1) | ((dest & 1) << (bits - 1));
                cf = Msb(dest);
                of = Msb(dest) ^ ((dest >> (bits - 2)) & 1);
                break;
            case Mnemonic.Rcl:
                for (int i = 0; i < masked % RotateThroughCarryModulus(bits); i++)
                {
                    ulong top = Msb(dest);
                    dest = ((dest << 1) | cf) & mask;
                    cf = top;
                }
                of = Msb(dest) ^ cf;
                break;
            case Mnemonic.Rcr:
                of = Msb(dest) ^ cf;
                for (int i = 0; i < masked % RotateThroughCarryModulus(bits); i++)
                {
                    ulong low = dest & 1;
                    dest = (dest >> 1) | (cf << (bits - 1));
                    cf = low;
                }
                break;
        }
        ulong flags = cf | (of << 11);
        ulong compared = CF | (masked == 1 ? OF : 0);
        if (isShift)
        {
            flags |= (dest == 0 ? ZF : 0) | (Msb(dest) << 7) | (ulong.IsEvenInteger(ulong.PopCount(dest & 0xff)) ? PF : 0) | AF;
            compared |= ZF | SF | PF | AF;
        }
        else
        {
            flags |= flagsIn & (ZF | SF | PF | AF);
            compared |= ZF | SF | PF | AF;
        }
        return (dest, flags, compared);
    }

    private static int RotateThroughCarryModulus(int bits) => bits switch { 8 => 9, 16 => 17, _ => int.MaxValue };

    [Theory]
    // dst 0xdeadbeefcafebabe, src 0x80000000d234fe55, flags CF ZF before; results and flags as
    // the host computes them. Count 0 changes nothing but still zero-extends a 32-bit register.
    [InlineData(true, 32, 0, 0x0000_0000_cafe_babeUL, CF | ZF)]
    [InlineData(false, 32, 0, 0x0000_0000_cafe_babeUL, CF | ZF)]
    [InlineData(true, 64, 0, 0xdead_beef_cafe_babeUL, CF | ZF)]
    // count 1: OF (the sign change) is defined
    [InlineData(true, 32, 1, 0x0000_0000_95fd_757dUL, CF | PF | AF | SF)]
    [InlineData(false, 32, 1, 0x0000_0000_e57f_5d5fUL, PF | AF | SF)]
    [InlineData(true, 64, 1, 0xbd5b_7ddf_95fd_757dUL, CF | PF | AF | SF)]
    [InlineData(false, 64, 1, 0xef56_df77_e57f_5d5fUL, PF | AF | SF)]
    [InlineData(true, 32, 31, 0x0000_0000_691a_7f2aUL, CF | AF)]
    [InlineData(false, 32, 31, 0x0000_0000_a469_fcabUL, CF | AF | SF)]
    [InlineData(true, 64, 31, 0xe57f_5d5f_4000_0000UL, CF | PF | AF | SF)]
    [InlineData(false, 64, 31, 0xa469_fcab_bd5b_7ddfUL, CF | AF | SF)]
    // 64 is masked to 0, 127 to 63
    [InlineData(true, 64, 64, 0xdead_beef_cafe_babeUL, CF | ZF)]
    [InlineData(true, 64, 127, 0x4000_0000_691a_7f2aUL, CF | AF)]
    [InlineData(false, 64, 127, 0x0000_0001_a469_fcabUL, CF | AF)]
    public void DoubleShift(bool left, int bits, int count, ulong expected, ulong expectedFlags)
    {
        var m = new AluMachine(a =>
        {
            if (bits == 32) { if (left) a.shld(eax, ebx, cl); else a.shrd(eax, ebx, cl); }
            else if (left) a.shld(rax, rbx, cl); else a.shrd(rax, rbx, cl);
        });
        m[GuestReg.Rax] = 0xdead_beef_cafe_babe;
        m[GuestReg.Rbx] = 0x8000_0000_d234_fe55;
        m[GuestReg.Rcx] = (ulong)count;
        m.Rflags = CF | ZF;
        m.Run();
        Assert.Equal(expected, m[GuestReg.Rax]);
        // OF is defined for a count of 1 only (and unchanged for a masked count of 0)
        ulong compared = (count & 0x3f) is 0 or 1 ? Drk.Hv.Cpu.Rflags.Arithmetic : Drk.Hv.Cpu.Rflags.Arithmetic & ~OF;
        Assert.Equal(expectedFlags & compared, m.ArithmeticFlags & compared);
    }

    [Theory]
    // 16-bit SHLD/SHRD with dst 0xabcd, src 0x8765, as the AMD Zen host computes them (x86
    // leaves counts above 16 undefined): for counts above 16 the source rotates in, CF = 0.
    [InlineData(14, 0x61d9, 0x1, 0x1d96, 0x1)]
    [InlineData(16, 0x8765, 0x1, 0x8765, 0x1)]
    [InlineData(17, 0x0ecb, 0x0, 0xc3b2, 0x0)]
    [InlineData(24, 0x6587, 0x0, 0x6587, 0x0)]
    [InlineData(31, 0xc3b2, 0x0, 0x0ecb, 0x0)]
    public void SixteenBitDoubleShiftFollowsTheHost(int count, int shld, int shldCarry, int shrd, int shrdCarry)
    {
        var m = new AluMachine(a => { a.shld(ax, bx, cl); a.setc(r8b); a.shrd(dx, bx, cl); a.setc(r9b); });
        m[GuestReg.Rax] = 0x1234_abcd;
        m[GuestReg.Rdx] = 0x1234_abcd;
        m[GuestReg.Rbx] = 0x8765;
        m[GuestReg.Rcx] = (ulong)count;
        m.Run();
        Assert.Equal(0x1234_0000UL | (uint)shld, m[GuestReg.Rax]);
        Assert.Equal(0x1234_0000UL | (uint)shrd, m[GuestReg.Rdx]);
        Assert.Equal((ulong)shldCarry, m[GuestReg.R8] & 0xff);
        Assert.Equal((ulong)shrdCarry, m[GuestReg.R9] & 0xff);
    }

    [Fact]
    public void FlaglessShiftsMaskTheCountAndKeepTheFlags()
    {
        var m = new AluMachine(a => { a.shlx(eax, esi, ecx); a.shrx(rbx, rsi, rdx); a.sarx(rdi, rsi, r8); });
        m[GuestReg.Rsi] = 0x8000_0000_0000_0011;
        m[GuestReg.Rcx] = 33;  // 33 & 31 = 1
        m[GuestReg.Rdx] = 64;  // 64 & 63 = 0
        m[GuestReg.R8] = 0x7f; // 63
        m.Rflags = CF | ZF;
        m.Run();
        Assert.Equal(0x22UL, m[GuestReg.Rax]);
        Assert.Equal(0x8000_0000_0000_0011UL, m[GuestReg.Rbx]);
        Assert.Equal(ulong.MaxValue, m[GuestReg.Rdi]);
        Assert.Equal(CF | ZF, m.ArithmeticFlags);
    }
}
