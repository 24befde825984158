using Drk.Dispatcher.Execution;
using Drk.Dispatcher.Flags;
using Drk.Hv.Cpu;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Drk.Dispatcher.Tests.Arithmetic;

/// <summary>
/// MUL/IMUL/DIV/IDIV executed: results and register merging at every size against
/// <see cref="Int128"/>/<see cref="UInt128"/> arithmetic, and #DE for a zero divisor and for
/// quotient overflow at every size, with the state exactly as before the divide.
/// </summary>
public sealed class MulDivExecutionTests
{
    private const int Rax = GuestReg.Rax, Rcx = GuestReg.Rcx, Rdx = GuestReg.Rdx, Rbx = GuestReg.Rbx, R15 = GuestReg.R15;

    /// <summary>DIV/IDIV of the accumulator by CL/CX/ECX/RCX, or by the data page's first operand (RBX points at it).</summary>
    private static void EmitDivide(Assembler a, bool signed, int bytes, bool memory)
    {
        switch (bytes, memory)
        {
            case (1, false): if (signed) a.idiv(cl); else a.div(cl); break;
            case (2, false): if (signed) a.idiv(cx); else a.div(cx); break;
            case (4, false): if (signed) a.idiv(ecx); else a.div(ecx); break;
            case (8, false): if (signed) a.idiv(rcx); else a.div(rcx); break;
            case (1, true): if (signed) a.idiv(__byte_ptr[rbx]); else a.div(__byte_ptr[rbx]); break;
            case (2, true): if (signed) a.idiv(__word_ptr[rbx]); else a.div(__word_ptr[rbx]); break;
            case (4, true): if (signed) a.idiv(__dword_ptr[rbx]); else a.div(__dword_ptr[rbx]); break;
            default: if (signed) a.idiv(__qword_ptr[rbx]); else a.div(__qword_ptr[rbx]); break;
        }
    }

    public static TheoryData<bool, int, bool> DivideForms()
    {
        var data = new TheoryData<bool, int, bool>();
        foreach (bool signed in new[] { false, true })
            foreach (int bytes in new[] { 1, 2, 4, 8 })
                foreach (bool memory in new[] { false, true })
                    data.Add(signed, bytes, memory);
        return data;
    }

    /// <summary>
    /// Runs LEA R15 (retires), then the divide (faults): the fault names the divide's RIP and the
    /// state is the one after the LEA, with the flags, RAX and RDX untouched.
    /// </summary>
    private static void AssertDivideError(bool signed, int bytes, bool memory, ulong rax, ulong rdx, ulong divisor)
    {
        var m = new AluMachine(a =>
        {
            a.lea(r15, __[r15 + 1]);
            EmitDivide(a, signed, bytes, memory);
            a.nop();
        });
        m[Rax] = rax;
        m[Rdx] = rdx;
        m[Rbx] = AluMachine.DataBase;
        ulong upper = bytes == 8 ? 0 : 0xa5a5_a5a5_a5a5_a5a5UL << (8 * bytes);
        if (memory)
        {
            LittleEndianBytes.Write(m.Data, 0, divisor, bytes);
            LittleEndianBytes.Write(m.Data, bytes, 0xa5a5_a5a5_a5a5_a5a5, 8); // neighbours are not part of the divisor
        }
        else
        {
            m[Rcx] = upper | divisor; // bits above the operand are not part of the divisor
        }
        m.Rflags = Drk.Hv.Cpu.Rflags.CF | Drk.Hv.Cpu.Rflags.ZF | Drk.Hv.Cpu.Rflags.OF;
        var expected = (ulong[])m.State.Slots.Clone();
        expected[R15] += 1;
        expected[GuestReg.Rip] = m.RipOf(1);

        var status = m.RunToFault(out var fault);

        Assert.Equal(RunStatus.Exception, status);
        Assert.Equal(ExceptionVector.DivideError, fault.Vector);
        Assert.Equal(m.RipOf(1), fault.Rip);
        Assert.Equal(expected, m.State.Slots);
    }

    [Theory]
    [MemberData(nameof(DivideForms))]
    public void DivisionByZeroRaisesDivideErrorWithTheStateBeforeTheDivide(bool signed, int bytes, bool memory) =>
        AssertDivideError(signed, bytes, memory, rax: 0x1122_3344_5566_7788, rdx: 0x0102_0304_0506_0708, divisor: 0);

    [Theory]
    // DIV: the high half is not below the divisor
    [InlineData(false, 1, 0x0400UL, 0UL, 2UL)]
    [InlineData(false, 2, 0x0000UL, 0x0002UL, 2UL)]
    [InlineData(false, 4, 0x0UL, 0x5UL, 5UL)]
    [InlineData(false, 8, 0x0UL, ulong.MaxValue, ulong.MaxValue)]
    // IDIV: the most negative dividend by -1
    [InlineData(true, 1, 0x8000UL, 0UL, 0xffUL)]
    [InlineData(true, 2, 0x8000UL, 0xffffUL, 0xffffUL)]
    [InlineData(true, 4, 0x8000_0000UL, 0xffff_ffffUL, 0xffff_ffffUL)]
    [InlineData(true, 8, 0x8000_0000_0000_0000UL, ulong.MaxValue, ulong.MaxValue)]
    // IDIV: a positive quotient one above the largest that fits
    [InlineData(true, 1, 0x0100UL, 0UL, 2UL)]
    [InlineData(true, 2, 0x0000UL, 0x0001UL, 2UL)]
    [InlineData(true, 8, 0x8000_0000_0000_0000UL, 0UL, 1UL)]
    public void QuotientOverflowRaisesDivideErrorWithTheStateBeforeTheDivide(bool signed, int bytes, ulong rax, ulong rdx, ulong divisor)
    {
        AssertDivideError(signed, bytes, memory: false, rax, rdx, divisor);
        AssertDivideError(signed, bytes, memory: true, rax, rdx, divisor);
    }

    [Fact]
    public void TheMostNegativeQuotientFits()
    {
        // -256 / 2 = -128 fits a signed byte; -2^63 / 1 fits a signed quadword
        var m = new AluMachine(a => { a.idiv(cl); a.mov(rsi, rax); a.mov(rax, rdi); a.xor(edx, edx); a.not(rdx); a.idiv(r8); });
        m[Rax] = 0xff00;
        m[Rcx] = 2;
        m[GuestReg.Rdi] = 0x8000_0000_0000_0000;
        m[GuestReg.R8] = 1;
        m.Run();
        Assert.Equal(0x0080UL, m[GuestReg.Rsi] & 0xffff); // AH = remainder 0, AL = quotient 0x80
        Assert.Equal(0x8000_0000_0000_0000UL, m[Rax]);
        Assert.Equal(0UL, m[Rdx]);
    }

    [Theory]
    [MemberData(nameof(DivideForms))]
    public void DivideGivesQuotientAndRemainderAndMergesRegistersBySize(bool signed, int bytes, bool memory)
    {
        var random = new Random(1000 * bytes + (signed ? 7 : 0) + (memory ? 1 : 0));
        int bits = 8 * bytes;
        ulong mask = ulong.MaxValue >> (64 - bits);
        for (int i = 0; i < 50; i++)
        {
            ulong divisor = Next(random) & mask;
            if (divisor == 0) divisor = 3;
            // a dividend whose quotient fits: |high| below |divisor| (unsigned), or a sign-extended low half (signed)
            ulong low = Next(random) & mask;
            ulong high = signed ? ((low >> (bits - 1)) & 1) * mask : (Next(random) & mask) % divisor;
            ulong rax = Next(random), rdx = Next(random);
            if (bytes == 1) rax = (rax & ~0xffffUL) | (high << 8) | low;
            else { rax = (rax & ~mask) | low; rdx = (rdx & ~mask) | high; }

            ulong quotient, remainder;
            if (signed)
            {
                Int128 dividend = ((Int128)(long)(high << (64 - bits)) >> (64 - bits) << bits) | (Int128)low;
                Int128 d = (long)(divisor << (64 - bits)) >> (64 - bits);
                quotient = (ulong)(dividend / d) & mask;
                remainder = (ulong)(dividend % d) & mask;
            }
            else
            {
                UInt128 dividend = ((UInt128)high << bits) | low;
                quotient = (ulong)(dividend / divisor) & mask;
                remainder = (ulong)(dividend % divisor) & mask;
            }

            var m = new AluMachine(a => EmitDivide(a, signed, bytes, memory));
            m[Rax] = rax;
            m[Rdx] = rdx;
            m[Rbx] = AluMachine.DataBase;
            if (memory) LittleEndianBytes.Write(m.Data, 0, divisor, bytes);
            else m[Rcx] = (Next(random) & ~mask) | divisor;
            m.Rflags = Drk.Hv.Cpu.Rflags.SF | Drk.Hv.Cpu.Rflags.PF;
            m.Run();

            string what = $"{(signed ? "idiv" : "div")}{bits} {high:x}:{low:x} / {divisor:x}";
            switch (bytes)
            {
                case 1:
                    Assert.True(((rax & ~0xffffUL) | (remainder << 8) | quotient) == m[Rax], what);
                    Assert.True(rdx == m[Rdx], what);
                    break;
                case 2:
                    Assert.True(((rax & ~mask) | quotient) == m[Rax], what);
                    Assert.True(((rdx & ~mask) | remainder) == m[Rdx], what);
                    break;
                default:
                    // 32-bit writes zero-extend
                    Assert.True(quotient == m[Rax], what);
                    Assert.True(remainder == m[Rdx], what);
                    break;
            }
            // Drk defines the flags x86 leaves undefined after a divide as unchanged
            Assert.Equal(Drk.Hv.Cpu.Rflags.SF | Drk.Hv.Cpu.Rflags.PF, m.ArithmeticFlags);
        }
    }

    [Theory]
    [InlineData(false, 1)]
    [InlineData(false, 2)]
    [InlineData(false, 4)]
    [InlineData(false, 8)]
    [InlineData(true, 1)]
    [InlineData(true, 2)]
    [InlineData(true, 4)]
    [InlineData(true, 8)]
    public void OneOperandMultiplyWritesTheDoubleWidthProductAndFlagsOverflow(bool signed, int bytes)
    {
        var random = new Random(bytes * 31 + (signed ? 1 : 0));
        int bits = 8 * bytes;
        ulong mask = ulong.MaxValue >> (64 - bits);
        for (int i = 0; i < 60; i++)
        {
            ulong x = Next(random), y = Next(random);
            var m = new AluMachine(a =>
            {
                switch (bytes)
                {
                    case 1: if (signed) a.imul(cl); else a.mul(cl); break;
                    case 2: if (signed) a.imul(cx); else a.mul(cx); break;
                    case 4: if (signed) a.imul(ecx); else a.mul(ecx); break;
                    default: if (signed) a.imul(rcx); else a.mul(rcx); break;
                }
            });
            ulong rdx = Next(random);
            m[Rax] = x;
            m[Rcx] = y;
            m[Rdx] = rdx;
            m.Run();

            ulong low, high;
            bool overflow;
            if (signed)
            {
                Int128 p = (Int128)((long)(x << (64 - bits)) >> (64 - bits)) * ((long)(y << (64 - bits)) >> (64 - bits));
                low = (ulong)p & mask;
                high = (ulong)(p >> bits) & mask;
                overflow = p != (Int128)((long)(low << (64 - bits)) >> (64 - bits));
            }
            else
            {
                UInt128 p = (UInt128)(x & mask) * (y & mask);
                low = (ulong)p & mask;
                high = (ulong)(p >> bits) & mask;
                overflow = high != 0;
            }
            string what = $"{(signed ? "imul" : "mul")}{bits} {x & mask:x} * {y & mask:x}";
            switch (bytes)
            {
                case 1:
                    Assert.True(((x & ~0xffffUL) | (high << 8) | low) == m[Rax], what);
                    Assert.True(rdx == m[Rdx], what);
                    break;
                case 2:
                    Assert.True(((x & ~mask) | low) == m[Rax], what);
                    Assert.True(((rdx & ~mask) | high) == m[Rdx], what);
                    break;
                default:
                    Assert.True(low == m[Rax], what);
                    Assert.True(high == m[Rdx], what);
                    break;
            }
            ulong cfOf = m.ArithmeticFlags & (Drk.Hv.Cpu.Rflags.CF | Drk.Hv.Cpu.Rflags.OF);
            Assert.True((overflow ? Drk.Hv.Cpu.Rflags.CF | Drk.Hv.Cpu.Rflags.OF : 0) == cfOf, what);
        }
    }

    [Fact]
    public void MultiplyByAhReadsTheSourceBeforeWritingAx()
    {
        var m = new AluMachine(a => a.mul(ah));
        m[Rax] = 0x1234_5678_9abc_0f10; // AL = 0x10, AH = 0x0f
        m.Run();
        Assert.Equal(0x1234_5678_9abc_00f0UL, m[Rax]);
        Assert.Equal(0UL, m.ArithmeticFlags & Drk.Hv.Cpu.Rflags.CF);
    }

    [Fact]
    public void TwoAndThreeOperandImulKeepTheLowHalfAndFlagSignedOverflow()
    {
        var m = new AluMachine(a =>
        {
            a.imul(ecx, edx);           // 0x10000 * 0x10000: overflows 32 bits
            a.setc(r8b);
            a.imul(si, di, -2);         // -0x4000 * -2 = 0x8000: overflows 16 bits
            a.seto(r9b);
            a.imul(r10, r11, 0x10);     // no overflow
            a.setc(r12b);
        });
        m[Rcx] = 0xffff_ffff_0001_0000;
        m[Rdx] = 0x10000;
        m[GuestReg.Rsi] = 0xaaaa_aaaa_aaaa_aaaa;
        m[GuestReg.Rdi] = 0xc000; // -0x4000
        m[GuestReg.R11] = 0x0123_4567_89ab_cdef;
        m.Run();
        Assert.Equal(0UL, m[Rcx]);                              // low 32 bits, zero-extended
        Assert.Equal(1UL, m[GuestReg.R8] & 0xff);
        Assert.Equal(0xaaaa_aaaa_aaaa_8000UL, m[GuestReg.Rsi]); // 16-bit write merges
        Assert.Equal(1UL, m[GuestReg.R9] & 0xff);
        Assert.Equal(0x1234_5678_9abc_def0UL, m[GuestReg.R10]);
        Assert.Equal(0UL, m[GuestReg.R12] & 0xff);
    }

    private static ulong Next(Random random) => random.Next(4) switch
    {
        0 => (ulong)random.Next(0, 300),
        1 => ulong.MaxValue - (ulong)random.Next(0, 300),
        2 => 1UL << random.Next(64),
        _ => (ulong)random.NextInt64() ^ ((ulong)random.Next() << 33),
    };
}
