using Drk.Dispatcher.Decoding;
using Drk.Dispatcher.IR;
using Drk.Hv.Cpu;
using Drk.Hv.Memory;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Drk.Dispatcher.Tests.Execution;

/// <summary>Where blocks end, and how fetch faults and undecodable bytes are reported.</summary>
public sealed class BlockDecoderTests
{
    private const ulong Page = 0x40_0000;

    private static (BlockDecoder Decoder, FlatMemory Memory) DecoderOver(byte[] code, ulong at = Page, int pages = 2)
    {
        var memory = new FlatMemory();
        var bytes = new byte[pages * 4096];
        Array.Fill(bytes, (byte)0x90);
        code.CopyTo(bytes, (int)(at - Page));
        memory.Map(Page, bytes);
        return (new BlockDecoder(memory), memory);
    }

    private static GuestInstruction[] DecodeAt(Action<Assembler> emit, ulong at = Page, ulong? stopBefore = null, int max = BlockDecoder.MaxInstructions)
    {
        var (decoder, _) = DecoderOver(IrTestKit.Assemble(emit, at), at);
        Assert.True(decoder.TryDecode(at, out var insns, out _, max, stopBefore));
        return insns;
    }

    private static Mnemonic[] Mnemonics(GuestInstruction[] insns) => insns.Select(i => i.Instruction.Mnemonic).ToArray();

    [Fact]
    public void A_block_ends_after_a_control_transfer()
    {
        var insns = DecodeAt(a => { a.mov(rax, 1); a.add(rax, rbx); a.jne(a.CreateLabel()); a.mov(rcx, 2); });
        Assert.Equal([Mnemonic.Mov, Mnemonic.Add, Mnemonic.Jne], Mnemonics(insns));
    }

    [Theory]
    [InlineData("call")]
    [InlineData("ret")]
    [InlineData("jmp_reg")]
    [InlineData("int3")]
    [InlineData("int80")]
    [InlineData("ud2")]
    [InlineData("syscall")]
    [InlineData("cpuid")]
    [InlineData("rdtsc")]
    [InlineData("hlt")]
    [InlineData("cli")]
    [InlineData("mov_cr3")]
    [InlineData("mov_ds")]
    [InlineData("wrmsr")]
    [InlineData("out")]
    [InlineData("invlpg")]
    [InlineData("swapgs")]
    [InlineData("iretq")]
    [InlineData("wrgsbase")]
    [InlineData("lidt")]
    public void A_block_ends_after_a_control_transfer_or_system_instruction(string which)
    {
        var insns = DecodeAt(a =>
        {
            a.mov(rax, 1);
            switch (which)
            {
                case "call": a.call(Page + 0x100); break;
                case "ret": a.ret(); break;
                case "jmp_reg": a.jmp(rax); break;
                case "int3": a.int3(); break;
                case "int80": a.@int(0x80); break;
                case "ud2": a.ud2(); break;
                case "syscall": a.syscall(); break;
                case "cpuid": a.cpuid(); break;
                case "rdtsc": a.rdtsc(); break;
                case "hlt": a.hlt(); break;
                case "cli": a.cli(); break;
                case "mov_cr3": a.mov(cr3, rax); break;
                case "mov_ds": a.mov(ds, ax); break;
                case "wrmsr": a.wrmsr(); break;
                case "out": a.@out(dx, al); break;
                case "invlpg": a.invlpg(__[rax]); break;
                case "swapgs": a.swapgs(); break;
                case "iretq": a.iretq(); break;
                case "wrgsbase": a.wrgsbase(rax); break;
                case "lidt": a.lidt(__[rax]); break;
            }
            a.mov(rcx, 2);
        });
        Assert.Equal(2, insns.Length);
    }

    [Fact]
    public void Ordinary_instructions_do_not_end_a_block()
    {
        var insns = DecodeAt(a => { a.mov(rax, 1); a.pause(); a.lfence(); a.nop(); a.endbr64(); a.jmp(Page + 0x200); });
        Assert.Equal(6, insns.Length);
    }

    [Fact]
    public void A_rep_string_instruction_is_alone_in_its_block()
    {
        var code = IrTestKit.Assemble(a => { a.mov(rcx, 4); a.rep.movsb(); a.mov(rax, 1); a.repne.scasb(); a.movsb(); a.ret(); }, Page);
        var (decoder, _) = DecoderOver(code);
        Assert.True(decoder.TryDecode(Page, out var first, out _));
        Assert.Equal([Mnemonic.Mov], Mnemonics(first));
        Assert.True(decoder.TryDecode(first[^1].NextRip, out var rep, out _));
        Assert.Equal([Mnemonic.Movsb], Mnemonics(rep));
        Assert.True(decoder.TryDecode(rep[^1].NextRip, out var second, out _));
        Assert.Equal([Mnemonic.Mov], Mnemonics(second));
        Assert.True(decoder.TryDecode(second[^1].NextRip, out var repne, out _));
        Assert.Equal([Mnemonic.Scasb], Mnemonics(repne));
        // A string instruction without REP is ordinary.
        Assert.True(decoder.TryDecode(repne[^1].NextRip, out var last, out _));
        Assert.Equal([Mnemonic.Movsb, Mnemonic.Ret], Mnemonics(last));
    }

    [Fact]
    public void A_block_stops_at_the_length_limit()
    {
        var (decoder, _) = DecoderOver([], pages: 1);
        Assert.True(decoder.TryDecode(Page, out var insns, out _));
        Assert.Equal(BlockDecoder.MaxInstructions, insns.Length);
        Assert.True(decoder.TryDecode(Page, out var shorter, out _, maxInstructions: 5));
        Assert.Equal(5, shorter.Length);
    }

    [Fact]
    public void A_block_stops_before_the_stop_address()
    {
        // Iced encodes MOV r64, imm as the 10-byte imm64 form.
        var insns = DecodeAt(a => { a.mov(rax, 1); a.mov(rbx, 2); a.mov(rcx, 3); }, stopBefore: Page + 10);
        Assert.Single(insns);
        var first = DecodeAt(a => { a.mov(rax, 1); }, stopBefore: Page);
        Assert.Equal(Page, Assert.Single(first.Take(1)).Rip);
    }

    [Fact]
    public void A_block_ends_with_the_last_instruction_starting_on_its_page()
    {
        // A 10-byte MOV starting 4 bytes before the page end crosses into the next page.
        ulong at = Page + 4096 - 4 - 3;
        var insns = DecodeAt(a => { a.nop(); a.nop(); a.nop(); a.mov(rax, 0x1122_3344_5566_7788); a.nop(); }, at);
        Assert.Equal(4, insns.Length);
        Assert.Equal(0x1122_3344_5566_7788UL, insns[^1].Instruction.Immediate64);
        Assert.Equal(Page + 4096 + 6, insns[^1].NextRip);
    }

    [Fact]
    public void A_block_exactly_filling_its_page_ends_at_the_page_end()
    {
        var (decoder, _) = DecoderOver([]);
        Assert.True(decoder.TryDecode(Page + 4096 - 3, out var insns, out _));
        Assert.Equal(3, insns.Length);
        Assert.Equal(Page + 4096, insns[^1].NextRip);
    }

    [Fact]
    public void A_fetch_fault_on_the_first_instruction_is_the_blocks_fault()
    {
        var (decoder, _) = DecoderOver([], pages: 1);
        Assert.False(decoder.TryDecode(Page + 4096, out _, out var fault));
        Assert.Equal(ExceptionVector.PageFault, fault.Vector);
        Assert.Equal(0x10u, fault.ErrorCode & 0x10);
        Assert.Equal(Page + 4096, fault.Cr2);
        Assert.Equal(Page + 4096, fault.Rip);
    }

    [Fact]
    public void A_first_instruction_crossing_into_an_unmapped_page_faults_on_the_second_page()
    {
        ulong at = Page + 4096 - 2;
        var (decoder, _) = DecoderOver(IrTestKit.Assemble(a => a.mov(rax, 0x1122_3344_5566_7788), at)[..2], at, pages: 1);
        Assert.False(decoder.TryDecode(at, out _, out var fault));
        Assert.Equal(ExceptionVector.PageFault, fault.Vector);
        Assert.Equal(Page + 4096, fault.Cr2);
        Assert.Equal(at, fault.Rip);
    }

    [Fact]
    public void A_later_instruction_that_cannot_be_fetched_ends_the_block_before_it()
    {
        var code = IrTestKit.Assemble(a => { a.nop(); a.mov(rax, 0x1122_3344_5566_7788); }, Page + 4096 - 4);
        var (decoder, _) = DecoderOver(code[..4], Page + 4096 - 4, pages: 1);
        Assert.True(decoder.TryDecode(Page + 4096 - 4, out var insns, out _));
        Assert.Equal([Mnemonic.Nop], Mnemonics(insns));
    }

    [Fact]
    public void A_non_canonical_rip_is_a_general_protection_fault()
    {
        var (decoder, _) = DecoderOver([], pages: 1);
        Assert.False(decoder.TryDecode(0x8000_0000_0000_0000, out _, out var fault));
        Assert.Equal(ExceptionVector.GeneralProtection, fault.Vector);
        Assert.Equal(0x8000_0000_0000_0000UL, fault.Rip);
    }

    [Fact]
    public void Code_in_non_executable_memory_faults_with_the_protection_bit()
    {
        var memory = new FlatMemory();
        memory.Map(Page, new byte[4096], executable: false);
        Assert.False(new BlockDecoder(memory).TryDecode(Page, out _, out var fault));
        Assert.Equal(ExceptionVector.PageFault, fault.Vector);
        Assert.Equal(0x11u, fault.ErrorCode);
    }

    [Fact]
    public void Undecodable_bytes_become_an_invalid_instruction_that_ends_the_block()
    {
        var (decoder, _) = DecoderOver([0x90, 0x06, 0x90]);  // 06 (PUSH ES) is invalid in 64-bit mode
        Assert.True(decoder.TryDecode(Page, out var insns, out _));
        Assert.Equal(2, insns.Length);
        Assert.Equal(Code.INVALID, insns[1].Instruction.Code);
        Assert.Equal(Page + 1, insns[1].Rip);
    }

    [Fact]
    public void The_decoder_is_reusable_across_blocks()
    {
        var code = IrTestKit.Assemble(a => { a.mov(rax, 1); a.ret(); a.mov(rbx, 2); a.ret(); }, Page);
        var (decoder, _) = DecoderOver(code);
        ulong secondRip = Page + 11;  // past the 10-byte MOV and the RET
        Assert.True(decoder.TryDecode(secondRip, out var second, out _));
        Assert.True(decoder.TryDecode(Page, out var first, out _));
        Assert.True(decoder.TryDecode(secondRip, out var again, out _));
        Assert.Equal(Register.RAX, first[0].Instruction.Op0Register);
        Assert.Equal(Register.RBX, second[0].Instruction.Op0Register);
        Assert.Equal(second.Select(i => i.Instruction), again.Select(i => i.Instruction));
    }

    [Fact]
    public void An_invalid_opcode_just_before_unmapped_memory_is_invalid_not_a_fetch_fault()
    {
        // Iced reads a byte past 06 (invalid in 64-bit mode); the CPU raises #UD without it.
        ulong at = Page + 4096 - 1;
        var (decoder, _) = DecoderOver([0x06], at, pages: 1);
        Assert.True(decoder.TryDecode(at, out var insns, out _));
        Assert.Equal(Code.INVALID, Assert.Single(insns).Instruction.Code);
    }

    [Fact]
    public void A_valid_prefix_of_an_instruction_before_unmapped_memory_is_a_fetch_fault()
    {
        ulong at = Page + 4096 - 1;
        var (decoder, _) = DecoderOver([0x0f], at, pages: 1);
        Assert.False(decoder.TryDecode(at, out _, out var fault));
        Assert.Equal(ExceptionVector.PageFault, fault.Vector);
        Assert.Equal(Page + 4096, fault.Cr2);
    }
}
