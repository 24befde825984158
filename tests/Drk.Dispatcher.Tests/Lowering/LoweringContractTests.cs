using Drk.Dispatcher.IR;
using static Drk.Dispatcher.Tests.Lowering.LoweringTestKit;

namespace Drk.Dispatcher.Tests.Lowering;

/// <summary>
/// Properties every lowering of the Lowering A families must have, checked on one encoding of
/// each form: it is supported (no #UD), the block ends in exactly one terminator, and every op
/// that may fault comes before the first register write (the precise-exception contract).
/// </summary>
public sealed class LoweringContractTests
{
    public static readonly TheoryData<string> Forms = new()
    {
        { "4889d8" }, // mov rax,rbx
        { "89d8" }, // mov eax,ebx
        { "6689d8" }, // mov ax,bx
        { "88dc" }, // mov ah,bl
        { "4088fe" }, // mov sil,dil
        { "488b44cb10" }, // mov rax,[rbx+rcx*8+10h]
        { "48b88877665544332211" }, // mov rax,1122334455667788h
        { "48c7442408ffffffff" }, // mov qword ptr [rsp+8],0FFFFFFFFFFFFFFFFh
        { "c60705" }, // mov byte ptr [rdi],5
        { "6448a12800000000000000" }, // mov rax,fs:[28h]
        { "658b03" }, // mov eax,gs:[rbx]
        { "0fb6c3" }, // movzx eax,bl
        { "480fb706" }, // movzx rax,word ptr [rsi]
        { "480fbe06" }, // movsx rax,byte ptr [rsi]
        { "0fbfc8" }, // movsx ecx,ax
        { "4863c1" }, // movsxd rax,ecx
        { "486302" }, // movsxd rax,dword ptr [rdx]
        { "488d448b08" }, // lea rax,[rbx+rcx*4+8]
        { "8d040b" }, // lea eax,[rbx+rcx]
        { "488d03" }, // lea rax,[rbx]
        { "4887d8" }, // xchg rbx,rax
        { "488707" }, // xchg rax,[rdi]
        { "86e9" }, // xchg ch,cl
        { "f00fb10f" }, // lock cmpxchg [rdi],ecx
        { "480fb1cb" }, // cmpxchg rbx,rcx
        { "f0480fc70f" }, // lock cmpxchg16b [rdi]
        { "0fc70f" }, // cmpxchg8b qword ptr [rdi]
        { "f0480fc107" }, // lock xadd [rdi],rax
        { "0fc1d1" }, // xadd ecx,edx
        { "0fc8" }, // bswap eax
        { "490fc9" }, // bswap r9
        { "6698" }, // cbw
        { "98" }, // cwde
        { "4898" }, // cdqe
        { "6699" }, // cwd
        { "99" }, // cdq
        { "4899" }, // cqo
        { "480f44c3" }, // cmove rax,rbx
        { "0f4c06" }, // cmovl eax,[rsi]
        { "0f95c0" }, // setne al
        { "0f9207" }, // setb byte ptr [rdi]
        { "90" }, // nop
        { "0f1f0400" }, // nop dword ptr [rax+rax]
        { "f390" }, // pause
        { "f30f1efa" }, // endbr64
        { "0faee8" }, // lfence
        { "0faef0" }, // mfence
        { "0faef8" }, // sfence
        { "0f180f" }, // prefetcht0 [rdi]
        { "0f0d0f" }, // prefetchw [rdi]
        { "53" }, // push rbx
        { "4154" }, // push r12
        { "ff742408" }, // push qword ptr [rsp+8]
        { "6a12" }, // push 12h
        { "6878563412" }, // push 12345678h
        { "6653" }, // push bx
        { "5b" }, // pop rbx
        { "8f442408" }, // pop qword ptr [rsp+8]
        { "5c" }, // pop rsp
        { "665b" }, // pop bx
        { "9c" }, // pushfq
        { "669c" }, // pushf
        { "9d" }, // popfq
        { "669d" }, // popf
        { "c9" }, // leave
        { "c8200000" }, // enter 20h,0
        { "c8100003" }, // enter 10h,3
        { "ff6008" }, // jmp qword ptr [rax+8]
        { "ffe0" }, // jmp rax
        { "ffd0" }, // call rax
        { "c3" }, // ret
        { "c21000" }, // ret 10h
        { "cc" }, // int 3
        { "cd80" }, // int 80h
        { "a4" }, // movsb
        { "f348a5" }, // rep movsq
        { "f3aa" }, // rep stosb
        { "66ad" }, // lodsw
        { "f3a6" }, // repe cmpsb
        { "f2ae" }, // repne scasb
        { "f3ab" }, // rep stosd
        { "0fa2" }, // cpuid
        { "0f31" }, // rdtsc
        { "0f01f9" }, // rdtscp
        { "fa" }, // cli
        { "fb" }, // sti
        { "f4" }, // hlt
        { "0f20c0" }, // mov rax,cr0
        { "0f22d8" }, // mov cr3,rax
        { "440f22c1" }, // mov cr8,rcx
        { "0f20d2" }, // mov rdx,cr2
        { "0f22e2" }, // mov cr4,rdx
        { "0f0117" }, // lgdt fword ptr [rdi]
        { "0f011f" }, // lidt fword ptr [rdi]
        { "0f0107" }, // sgdt [rdi]
        { "0f010f" }, // sidt [rdi]
        { "660f00d8" }, // ltr ax
        { "0f001f" }, // ltr word ptr [rdi]
        { "0f00c8" }, // str eax
        { "0f000f" }, // str word ptr [rdi]
        { "0f32" }, // rdmsr
        { "0f30" }, // wrmsr
        { "e460" }, // in al,60h
        { "ed" }, // in eax,dx
        { "66ed" }, // in ax,dx
        { "e680" }, // out 80h,al
        { "ef" }, // out dx,eax
        { "66ef" }, // out dx,ax
        { "0f013f" }, // invlpg [rdi]
        { "48cf" }, // iretq
        { "48cb" }, // retfq (lretq)
        { "ca0800" }, // retfd 8
        { "0f05" }, // syscall
        { "480f07" }, // sysretq
        { "0f01f8" }, // swapgs
        { "0f09" }, // wbinvd
        { "0fae3f" }, // clflush [rdi]
        { "f3480faec0" }, // rdfsbase rax
        { "f30faec9" }, // rdgsbase ecx
        { "f3480faed2" }, // wrfsbase rdx
        { "f3480faede" }, // wrgsbase rsi
        { "668ed8" }, // mov ds,ax
        { "8e27" }, // mov fs,[rdi]
        { "8cd0" }, // mov eax,ss
        { "8c2f" }, // mov [rdi],gs
        { "0fa0" }, // push fs
        { "0fa9" }, // pop gs
        { "890d00010000" }, // mov [rip+100h],ecx
        { "ff1510000000" }, // call qword ptr [rip+10h]
        { "e800000000" }, // call rel32
        { "ebfe" }, // jmp rel8
        { "e9fbffffff" }, // jmp rel32
        { "0f8500000000" }, // jne rel32
        { "7c10" }, // jl rel8
        { "e3fe" }, // jrcxz
        { "67e3fe" }, // jecxz
        { "e2fe" }, // loop
        { "67e2fe" }, // loop (ecx)
        { "e1fe" }, // loope
        { "e0fe" }, // loopne
        { "66c3" }, // ret (16-bit)
        { "8f0424" }, // pop qword ptr [rsp]
        { "67f3a4" }, // rep movsb with addr32
        { "64f3a4" }, // rep movsb fs:[rsi]
        { "f348af" }, // repe scasq
        { "f2a7" }, // repne cmpsd
        { "66a5" }, // movsw
        { "48ad" }, // lodsq
        { "f3ac" }, // rep lodsb
        { "660f1f840000000000" }, // nop word ptr [rax+rax]
        { "0f1f440000" }, // nop dword ptr [rax+rax]
        { "0f18c0" }, // reserved nop (0F 18 /0 with a register)
    };

    [Theory]
    [MemberData(nameof(Forms))]
    public void FormIsLoweredWithoutInvalidOpcode(string hex)
    {
        var block = Lower(hex);
        foreach (var op in block.Ops)
            Assert.False(op.Code == IrOpcode.Raise, $"{Describe(hex)} lowered to a raise:\n{block}");
    }

    [Theory]
    [MemberData(nameof(Forms))]
    public void BlockEndsInExactlyOneTerminator(string hex)
    {
        var block = Lower(hex);
        var ops = block.Ops;
        for (int n = 0; n < ops.Length - 1; n++)
            Assert.False(IsTerminator(ops[n].Code), $"{Describe(hex)}: terminator before the end:\n{block}");
        Assert.True(IsTerminator(ops[^1].Code), $"{Describe(hex)}: no terminator:\n{block}");
    }

    [Theory]
    [MemberData(nameof(Forms))]
    public void FaultingOpsComeBeforeTheFirstRegisterWrite(string hex)
    {
        var block = Lower(hex);
        int firstWrite = -1;
        var ops = block.Ops;
        for (int n = 0; n < ops.Length; n++)
        {
            if (ops[n].Code == IrOpcode.PutReg && firstWrite < 0) firstWrite = n;
            if (firstWrite >= 0 && MayFault(ops[n].Code))
                Assert.Fail($"{Describe(hex)}: {ops[n]} may fault after the register write {ops[firstWrite]}:\n{block}");
        }
    }

    [Theory]
    [InlineData("66cf")] // iretw: 16-bit IRET is not supported in 64-bit mode
    [InlineData("cf")] // iretd
    [InlineData("0f07")] // sysretd (return to compatibility mode)
    [InlineData("ff1c2500000000")] // far call m16:64 (Iced: call fword ptr [...])
    [InlineData("6c")] // insb: port-string instructions are not lowered
    [InlineData("6e")] // outsb
    [InlineData("0f21c0")] // mov rax,dr0
    [InlineData("d9c0")] // fld st(0): x87
    [InlineData("0f28c1")] // movaps xmm0,xmm1: SSE
    public void UnsupportedFormRaisesInvalidOpcode(string hex)
    {
        var block = Lower(hex);
        var last = Last(block);
        Assert.Equal(IrOpcode.Raise, last.Code);
        Assert.Equal((byte)Drk.Hv.Cpu.ExceptionVector.InvalidOpcode, last.Aux);
    }

    private static string Describe(string hex) => $"{Decode(hex)[0].Instruction} ({hex})";
}
