using Drk.Dispatcher.Execution;
using Drk.Dispatcher.Flags;
using Drk.Hv.Cpu;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Drk.Dispatcher.Tests.Lowering;

/// <summary>Data-movement instructions executed through decode, lower and interpret: merge rules, CMPXCHG(16B), XADD, XCHG, extensions.</summary>
public sealed class DataMovementExecutionTests
{
    private const ulong Data = GuestMachine.DataBase;

    [Fact]
    public void SubRegisterWritesMergeAndThirtyTwoBitWritesZeroExtend()
    {
        var m = new GuestMachine(a =>
        {
            a.mov(ah, bl);
            a.mov(cx, bx);
            a.mov(edx, ebx);
            a.mov(sil, bl);
        });
        m[GuestReg.Rax] = m[GuestReg.Rcx] = m[GuestReg.Rdx] = m[GuestReg.Rsi] = ulong.MaxValue;
        m[GuestReg.Rbx] = 0x1122_3344_5566_7788;
        m.Run();
        Assert.Equal(0xffff_ffff_ffff_88ffUL, m[GuestReg.Rax]);
        Assert.Equal(0xffff_ffff_ffff_7788UL, m[GuestReg.Rcx]);
        Assert.Equal(0x5566_7788UL, m[GuestReg.Rdx]);
        Assert.Equal(0xffff_ffff_ffff_ff88UL, m[GuestReg.Rsi]);
    }

    [Fact]
    public void ExtensionsAndSignSpreading()
    {
        var m = new GuestMachine(a =>
        {
            a.movzx(eax, bl);
            a.movsx(rcx, bx);
            a.movsxd(rdx, ebx);
            a.mov(r8, rbx);
            a.cdqe(); // eax = 0x88 -> rax = 0x88
            a.mov(r9, rcx);
            a.xchg(rcx, r8);
            a.cqo(); // rax positive -> rdx = 0
        });
        m[GuestReg.Rbx] = 0x0000_0000_8000_ff88;
        m.Run();
        Assert.Equal(0x88UL, m[GuestReg.Rax]);
        Assert.Equal(0xffff_ffff_ffff_ff88UL, m[GuestReg.R9]);
        Assert.Equal(0x8000_ff88UL, m[GuestReg.Rcx]);
        Assert.Equal(0xffff_ffff_ffff_ff88UL, m[GuestReg.R8]);
        Assert.Equal(0UL, m[GuestReg.Rdx]);
    }

    [Fact]
    public void CwdAndCbwFamily()
    {
        var m = new GuestMachine(a =>
        {
            a.cbw();
            a.mov(rbx, rax);
            a.cwd();
            a.cwde();
            a.cdq();
        });
        m[GuestReg.Rax] = 0x1234_5678_9abc_de80;
        m[GuestReg.Rdx] = 0x1111_1111_1111_1111;
        m.Run();
        Assert.Equal(0x1234_5678_9abc_ff80UL, m[GuestReg.Rbx]);
        Assert.Equal(0xffff_ff80UL, m[GuestReg.Rax]); // cwde: zero-extends into RAX
        Assert.Equal(0xffff_ffffUL, m[GuestReg.Rdx]); // cdq of a negative EAX, zero-extended into RDX
    }

    [Fact]
    public void LeaComputesOffsetsAtOperandAndAddressSize()
    {
        var m = new GuestMachine(a =>
        {
            a.lea(rax, __[rbx + rcx * 8 + 0x10]);
            a.lea(edx, __[rbx + rcx * 8 + 0x10]);
            a.db(0x67, 0x48, 0x8d, 0x34, 0x0b); // lea rsi, [ebx+ecx]
            a.db(0x64, 0x48, 0x8d, 0x3b); // lea rdi, fs:[rbx]
        });
        m[GuestReg.Rbx] = 0xffff_ffff_ffff_fff0;
        m[GuestReg.Rcx] = 0x1_0000_0002;
        m.State.Slots[GuestReg.FsBase] = 0x5000;
        m.Run();
        Assert.Equal(0x8_0000_0010UL, m[GuestReg.Rax]); // wraps around 2^64
        Assert.Equal(0x10UL, m[GuestReg.Rdx]);
        Assert.Equal(0xffff_fff2UL, m[GuestReg.Rsi]); // computed in 32 bits, zero-extended
        Assert.Equal(0xffff_ffff_ffff_fff0UL, m[GuestReg.Rdi]);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Cmpxchg32WritesTheAccumulatorOnlyOnFailure(bool succeeds)
    {
        var m = new GuestMachine(a => a.@lock.cmpxchg(__dword_ptr[rdi], ecx));
        m.WriteData(0, 0x5555_5555, 4);
        m[GuestReg.Rdi] = Data;
        m[GuestReg.Rax] = succeeds ? 0xabcd_0000_5555_5555 : 0xabcd_0000_1234_5678;
        m[GuestReg.Rcx] = 0x7777_7777;
        m.Run();
        if (succeeds)
        {
            Assert.Equal(0x7777_7777UL, m.ReadData(0, 4));
            Assert.Equal(0xabcd_0000_5555_5555UL, m[GuestReg.Rax]); // untouched, upper half kept
            Assert.NotEqual(0UL, m.Rflags & Drk.Hv.Cpu.Rflags.ZF);
        }
        else
        {
            Assert.Equal(0x5555_5555UL, m.ReadData(0, 4)); // written back unchanged
            Assert.Equal(0x5555_5555UL, m[GuestReg.Rax]); // loaded and zero-extended
            Assert.Equal(0UL, m.Rflags & Drk.Hv.Cpu.Rflags.ZF);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Cmpxchg32WithARegisterDestinationWritesOnlyOneRegister(bool succeeds)
    {
        // as measured on hardware: the register not chosen by the comparison keeps its upper half
        var m = new GuestMachine(a => a.cmpxchg(ebx, ecx));
        m[GuestReg.Rax] = succeeds ? 0xaaaa_aaaa_0000_0002 : 0xaaaa_aaaa_0000_0001;
        m[GuestReg.Rbx] = 0xbbbb_bbbb_0000_0002;
        m[GuestReg.Rcx] = 0xcccc_cccc_0000_0003;
        m.Run();
        Assert.Equal(succeeds ? 0xaaaa_aaaa_0000_0002 : 0x2UL, m[GuestReg.Rax]);
        Assert.Equal(succeeds ? 0x3UL : 0xbbbb_bbbb_0000_0002, m[GuestReg.Rbx]);
    }

    [Fact]
    public void CmpxchgIntoAHighByteRegister()
    {
        var m = new GuestMachine(a => a.cmpxchg(bh, cl));
        m[GuestReg.Rax] = 0x42;
        m[GuestReg.Rbx] = 0xffff_4211;
        m[GuestReg.Rcx] = 0x99;
        m.Run();
        Assert.Equal(0xffff_9911UL, m[GuestReg.Rbx]);
        Assert.Equal(0x42UL, m[GuestReg.Rax]);
    }

    [Fact]
    public void Cmpxchg8bitFailureMergesIntoAl()
    {
        var m = new GuestMachine(a => a.cmpxchg(__byte_ptr[rdi], cl));
        m.WriteData(0, 0x42, 1);
        m[GuestReg.Rdi] = Data;
        m[GuestReg.Rax] = 0x1111_1111_1111_1100;
        m.Run();
        Assert.Equal(0x1111_1111_1111_1142UL, m[GuestReg.Rax]);
        // flags of CMP AL, m8: 0x00 - 0x42 borrows
        Assert.NotEqual(0UL, m.Rflags & Drk.Hv.Cpu.Rflags.CF);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Cmpxchg16bComparesRdxRax(bool succeeds)
    {
        var m = new GuestMachine(a => a.@lock.cmpxchg16b(__xmmword_ptr[rdi]));
        m.WriteData(0x40, 0x1111, 8);
        m.WriteData(0x48, 0x2222, 8);
        m[GuestReg.Rdi] = Data + 0x40;
        m[GuestReg.Rax] = 0x1111;
        m[GuestReg.Rdx] = succeeds ? 0x2222UL : 0x9999UL;
        m[GuestReg.Rbx] = 0xb0b0;
        m[GuestReg.Rcx] = 0xc0c0;
        m.Rflags = Drk.Hv.Cpu.Rflags.CF;
        m.Run();
        if (succeeds)
        {
            Assert.Equal(0xb0b0UL, m.ReadData(0x40, 8));
            Assert.Equal(0xc0c0UL, m.ReadData(0x48, 8));
            Assert.Equal(0x2222UL, m[GuestReg.Rdx]);
            Assert.Equal(Drk.Hv.Cpu.Rflags.ZF | Drk.Hv.Cpu.Rflags.CF, m.Rflags & Drk.Hv.Cpu.Rflags.Arithmetic);
        }
        else
        {
            Assert.Equal(0x1111UL, m.ReadData(0x40, 8));
            Assert.Equal(0x2222UL, m.ReadData(0x48, 8));
            Assert.Equal(0x1111UL, m[GuestReg.Rax]);
            Assert.Equal(0x2222UL, m[GuestReg.Rdx]);
            Assert.Equal(Drk.Hv.Cpu.Rflags.CF, m.Rflags & Drk.Hv.Cpu.Rflags.Arithmetic);
        }
    }

    [Fact]
    public void Cmpxchg16bOnAMisalignedOperandRaisesGpAndChangesNothing()
    {
        var m = new GuestMachine(a => a.@lock.cmpxchg16b(__xmmword_ptr[rdi]));
        m[GuestReg.Rdi] = Data + 8;
        m[GuestReg.Rbx] = 0xb0b0;
        var before = m.Snapshot();
        var status = m.RunUntilStop(out var fault);
        Assert.Equal(RunStatus.Exception, status);
        Assert.Equal(ExceptionVector.GeneralProtection, fault.Vector);
        Assert.Equal(0u, fault.ErrorCode);
        Assert.Equal(m.RipOf(0), fault.Rip);
        Assert.Equal(before, m.State.Slots);
        Assert.Equal(0UL, m.ReadData(8, 8));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Cmpxchg8bComparesEdxEax(bool succeeds)
    {
        var m = new GuestMachine(a => a.cmpxchg8b(__qword_ptr[rdi]));
        m.WriteData(0, 0x2222_2222_1111_1111, 8);
        m[GuestReg.Rdi] = Data;
        m[GuestReg.Rax] = 0xffff_ffff_1111_1111;
        m[GuestReg.Rdx] = succeeds ? 0xffff_ffff_2222_2222 : 0xffff_ffff_3333_3333;
        m[GuestReg.Rbx] = 0xbbbb_bbbb;
        m[GuestReg.Rcx] = 0xcccc_cccc;
        m.Run();
        if (succeeds)
        {
            Assert.Equal(0xcccc_cccc_bbbb_bbbbUL, m.ReadData(0, 8));
            Assert.Equal(0xffff_ffff_1111_1111UL, m[GuestReg.Rax]);
        }
        else
        {
            Assert.Equal(0x2222_2222_1111_1111UL, m.ReadData(0, 8));
            Assert.Equal(0x1111_1111UL, m[GuestReg.Rax]);
            Assert.Equal(0x2222_2222UL, m[GuestReg.Rdx]);
        }
    }

    [Fact]
    public void XaddExchangesAndAdds()
    {
        var m = new GuestMachine(a =>
        {
            a.@lock.xadd(__qword_ptr[rdi], rax);
            a.xadd(ecx, ecx);
        });
        m.WriteData(0, 40, 8);
        m[GuestReg.Rdi] = Data;
        m[GuestReg.Rax] = 2;
        m[GuestReg.Rcx] = 0xffff_ffff_0000_0005;
        m.Run();
        Assert.Equal(42UL, m.ReadData(0, 8));
        Assert.Equal(40UL, m[GuestReg.Rax]);
        Assert.Equal(10UL, m[GuestReg.Rcx]); // with one register the sum wins
    }

    [Fact]
    public void XchgWithMemorySwaps()
    {
        var m = new GuestMachine(a =>
        {
            a.xchg(__word_ptr[rdi], bx);
            a.db(0x87, 0xc0); // xchg eax, eax is not a NOP: it clears the upper half
        });
        m.WriteData(0, 0x1234, 2);
        m[GuestReg.Rdi] = Data;
        m[GuestReg.Rbx] = 0xffff_ffff_ffff_abcd;
        m[GuestReg.Rax] = 0xffff_ffff_0000_0001;
        m.Run();
        Assert.Equal(0xabcdUL, m.ReadData(0, 2));
        Assert.Equal(0xffff_ffff_ffff_1234UL, m[GuestReg.Rbx]);
        Assert.Equal(1UL, m[GuestReg.Rax]);
    }

    [Fact]
    public void BswapOfEverySize()
    {
        var m = new GuestMachine(a =>
        {
            a.bswap(rax);
            a.bswap(ecx);
            a.db(0x66, 0x0f, 0xca); // bswap dx
        });
        m[GuestReg.Rax] = 0x0102_0304_0506_0708;
        m[GuestReg.Rcx] = 0xffff_ffff_1122_3344;
        m[GuestReg.Rdx] = 0x1111_2222_3333_4444;
        m.Run();
        Assert.Equal(0x0807_0605_0403_0201UL, m[GuestReg.Rax]);
        Assert.Equal(0x4433_2211UL, m[GuestReg.Rcx]);
        Assert.Equal(0x1111_2222_3333_0000UL, m[GuestReg.Rdx]);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Cmov32ClearsTheUpperHalfEitherWay(bool taken)
    {
        var m = new GuestMachine(a =>
        {
            a.cmp(rbx, 5);
            a.cmove(eax, ecx);
            a.sete(dl);
            a.setne(__byte_ptr[rdi]);
        });
        m[GuestReg.Rbx] = taken ? 5UL : 6UL;
        m[GuestReg.Rax] = 0xffff_ffff_0000_0001;
        m[GuestReg.Rcx] = 0x2;
        m[GuestReg.Rdx] = 0xffff;
        m[GuestReg.Rdi] = Data;
        m.WriteData(0, 0xee, 1);
        m.Run();
        Assert.Equal(taken ? 2UL : 1UL, m[GuestReg.Rax]);
        Assert.Equal(taken ? 0xff01UL : 0xff00UL, m[GuestReg.Rdx]);
        Assert.Equal(taken ? 0UL : 1UL, m.ReadData(0, 1));
    }

    [Fact]
    public void CmovWithAFaultingSourceFaultsEvenWhenNotTaken()
    {
        var m = new GuestMachine(a =>
        {
            a.cmp(rbx, rbx);
            a.cmovne(rax, __qword_ptr[rsi]);
        });
        m[GuestReg.Rsi] = 0x10; // unmapped
        var status = m.RunUntilStop(out var fault);
        Assert.Equal(RunStatus.Exception, status);
        Assert.Equal(ExceptionVector.PageFault, fault.Vector);
        Assert.Equal(m.RipOf(1), fault.Rip);
    }

    [Fact]
    public void MovMoffsAndImm64AndRipRelative()
    {
        var m = new GuestMachine(a =>
        {
            var value = a.CreateLabel();
            var end = a.CreateLabel();
            a.mov(rax, 0x1122_3344_5566_7788UL);
            a.db(0x48, 0xa3); // mov [moffs64], rax
            a.db(BitConverter.GetBytes(Data + 0x20));
            a.db(0x48, 0xa1); // mov rax, [moffs64]
            a.db(BitConverter.GetBytes(Data + 0x1c));
            a.mov(cl, __byte_ptr[value]);
            a.jmp(end);
            a.Label(ref value);
            a.db(0x5a);
            a.Label(ref end);
            a.nop();
        });
        m.Run();
        Assert.Equal(0x1122_3344_5566_7788UL, m.ReadData(0x20, 8));
        Assert.Equal(0x5566_7788_0000_0000UL, m[GuestReg.Rax]);
        Assert.Equal(0x5aUL, m[GuestReg.Rcx]);
    }

    [Fact]
    public void MovWithGsOverrideReadsThroughGsBase()
    {
        var m = new GuestMachine(a => a.mov(rax, __qword_ptr.gs[0x28]));
        m.State.Slots[GuestReg.GsBase] = Data;
        m.WriteData(0x28, 0xfeed_face, 8);
        m.Run();
        Assert.Equal(0xfeed_faceUL, m[GuestReg.Rax]);
    }
}
