using Drk.Dispatcher.Tests.Machine;
using Drk.Hv.Boot;
using Drk.Hv.Memory;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Drk.Dispatcher.Tests.CodeCache;

/// <summary>
/// SYSCALL and SYSRET in compiled code, which does them through the hypervisor's shared steps
/// rather than its interface when they cannot fault (<c>CompiledBlock.FastSyscall</c>): the
/// registers, flags, privilege levels and the faults when they do fault are the interpreter's.
/// </summary>
public sealed partial class CodeCacheTests
{
    private const ulong UserCode = 0x40_0000;        // a 2 MiB page of its own, made user-accessible
    private const ulong SyscallEntry = TestMachine.CodeBase + 0x400;
    private const uint Efer = 0xC000_0080, Star = 0xC000_0081, Lstar = 0xC000_0082, Fmask = 0xC000_0084;

    private static void WriteMsr(Assembler a, uint msr, ulong value)
    {
        a.mov(ecx, msr);
        a.mov(eax, (uint)value);
        a.mov(edx, (uint)(value >> 32));
        a.wrmsr();
    }

    /// <summary>Sets or clears EFER.SCE (clobbers eax, ecx, edx).</summary>
    private static void SetEferSce(Assembler a, bool on)
    {
        a.mov(ecx, Efer);
        a.rdmsr();
        if (on) a.or(eax, 1);
        else a.and(eax, ~1);
        a.wrmsr();
    }

    /// <summary>EFER.SCE on, STAR (kernel CS 0x08, user base 0x10: CS 0x23, SS 0x1b), LSTAR = <see cref="SyscallEntry"/>, FMASK = IF | DF | TF.</summary>
    private static void EnableSyscalls(Assembler a)
    {
        SetEferSce(a, on: true);
        WriteMsr(a, Star, (0x10UL << 48) | (0x08UL << 32));
        WriteMsr(a, Lstar, SyscallEntry);
        WriteMsr(a, Fmask, 0x700);
    }

    /// <summary>Lets CPL 3 fetch from the 2 MiB page at <see cref="UserCode"/> (the identity tables are supervisor-only).</summary>
    private static void MakeUserCodeAccessible(TestMachine m)
    {
        const ulong pml4 = BootLayout.PageTablesAddress, pdpt = pml4 + 0x1000, pd = pml4 + 0x2000;
        foreach (ulong entry in new[] { pml4, pdpt, pd + (UserCode >> 21) * 8 })
            m.WritePhysical(entry, m.ReadPhysical(entry) | PageTableBits.User);
    }

    [Fact]
    public void SYSCALL_and_SYSRET_round_trips_leave_what_the_interpreter_leaves()
    {
        // User code (DF set by the first SYSRET, IF clear) sets the arithmetic flags differently
        // on each trip and calls the kernel; the kernel folds RCX, R11 (the user's RFLAGS) and
        // its own RFLAGS after FMASK into rbx, flips R11's CF and goes back, where the user adds
        // the CF it got to rbx. Traces form on both sides of the privilege change.
        var (interp, jit) = RunBoth(m =>
        {
            MakeUserCodeAccessible(m);
            m.Load(TestMachine.CodeBase, a =>
            {
                EnableSyscalls(a);
                a.xor(ebx, ebx);
                a.xor(r15d, r15d);
                a.mov(rcx, UserCode);
                a.mov(r11d, 0x2 | 0x1 | 0x400); // CF and DF set: DF must come back, FMASK clears it in the kernel
                a.sysretq();
            });
            m.Load(SyscallEntry, a =>
            {
                var done = a.CreateLabel();
                a.imul(rbx, rbx, 31);
                a.add(rbx, rcx);
                a.imul(rbx, rbx, 31);
                a.add(rbx, r11);
                a.pushfq();
                a.pop(rax);
                a.imul(rbx, rbx, 31);
                a.add(rbx, rax);
                a.inc(r15);
                a.cmp(r15, 3000);
                a.jae(done);
                a.xor(r11, 1);                  // the user's CF flips on the way back
                a.sysretq();
                a.Label(ref done);
                StoreResult(a, rbx, 0);
                StoreResult(a, r15, 1);
                TestMachine.Exit(a, 4);
            });
            m.Load(UserCode, a =>
            {
                // No stack here: the test's stack page is the supervisor's.
                var top = a.CreateLabel();
                a.Label(ref top);
                a.setc(al);                     // CF as SYSRET restored it (the kernel flipped it)
                a.movzx(eax, al);
                a.add(rbx, rax);
                a.inc(r14);
                a.mov(eax, r14d);
                a.and(eax, 1);
                a.neg(eax);                     // CF = SF = r14's low bit, ZF its complement
                a.syscall();
                a.jmp(top);
            });
            m.Start();
        });
        Assert.Equal(4, jit.Status);
        Assert.Equal(3000UL, jit.Words[1]);
        Assert.NotEqual(0UL, interp.Words[0]);
    }

    [Fact]
    public void SYSCALL_without_EFER_SCE_and_SYSRET_to_a_non_canonical_address_fault_as_in_the_interpreter()
    {
        // A loop at CPL 0: SYSCALL with EFER.SCE clear (#UD), then, with SCE set, SYSRET with a
        // non-canonical RCX (#GP). Each handler counts, records the faulting RIP and steps past
        // the instruction; the loop runs long enough for its trace to form.
        var (interp, jit) = RunBoth(m =>
        {
            const ulong ud = Handler, gp = Handler + 0x100;
            m.Load(ud, a =>
            {
                a.mov(r9, Data + 0x8000);
                a.inc(__qword_ptr[r9 + 16]);
                a.mov(rax, __qword_ptr[rsp]);
                a.add(__qword_ptr[r9 + 24], rax);
                a.add(__qword_ptr[rsp], 2);     // past SYSCALL
                a.iretq();
            });
            m.Load(gp, a =>
            {
                a.mov(r9, Data + 0x8000);
                a.inc(__qword_ptr[r9 + 32]);
                a.mov(rax, __qword_ptr[rsp + 8]); // past the error code: the faulting RIP
                a.add(__qword_ptr[r9 + 40], rax);
                a.add(__qword_ptr[r9 + 48], rcx);
                a.add(rsp, 8);
                a.add(__qword_ptr[rsp], 3);     // past SYSRETQ
                a.iretq();
            });
            m.SetGate(6, ud);
            m.SetGate(13, gp);
            m.Load(TestMachine.CodeBase, a =>
            {
                var top = a.CreateLabel();
                WriteMsr(a, Lstar, SyscallEntry);
                a.xor(r15d, r15d);
                a.Label(ref top);
                a.syscall();                    // EFER.SCE is clear: #UD
                SetEferSce(a, on: true);
                a.mov(rcx, 0x8000_0000_0000UL);
                a.add(rcx, r15);
                a.sysretq();                    // non-canonical RCX: #GP, in ring 0
                SetEferSce(a, on: false);
                a.inc(r15);
                a.cmp(r15, 2000);
                a.jb(top);
                TestMachine.Exit(a, 4);
            });
            m.Start();
        });
        Assert.Equal(4, jit.Status);
        Assert.Equal(2000UL, jit.Words[2]);
        Assert.Equal(2000UL, jit.Words[4]);
        Assert.Equal(interp.Words[3], jit.Words[3]);
        Assert.Equal(interp.Words[6], jit.Words[6]);
    }
}
