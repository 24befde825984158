using System.Runtime.InteropServices;
using Iced.Intel;

namespace Drk.Dispatcher.Tests.Native;

/// <summary>
/// Runs short x86-64 sequences natively in the test process: a generated prologue loads all 16
/// GPRs and RFLAGS from a state buffer, the sequence runs, and an epilogue stores them back and
/// returns to the host. One mmap'd region (<see cref="TestMachineLayout"/>) serves the whole
/// process (<see cref="Shared"/>), so a case costs two mprotect calls and a few copies, never an mmap.
/// </summary>
/// <remarks>
/// <para>The code under test owns every register, RSP included: the prologue saves the host's
/// callee-saved registers and RSP in the state page, and the epilogue reaches its buffers
/// RIP-relatively, so it needs no free register and does not touch the case's stack. Before
/// loading the case's state the prologue blocks every asynchronous signal (rt_sigprocmask) so
/// that no signal frame is pushed on the case's stack; the epilogue resets RFLAGS (DF clear as
/// the host ABI requires, AC/NT/ID clear), switches back to the host's stack, and only then
/// restores the mask (a signal that waited is delivered at once, and needs a real stack) and returns.</para>
/// <para>Generators must not produce cases that fault natively (those are interpreter-only
/// tests). As a safety net, SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGTRAP get handlers that
/// recognise a fault inside the code area, make the thread resume in a recovery stub that
/// returns to the host, and report the fault (<see cref="NativeFault"/>); any other fault is
/// passed to the handler that was installed before (the .NET runtime's). With RSP wild the
/// kernel cannot push the original signal's frame and delivers SIGSEGV instead, on the
/// runtime's alternate stack; the trap number still says what happened.</para>
/// </remarks>
public sealed unsafe class HostCpu
{
    // State page layout (offsets from StateAddress).
    private const int GprSlots = 0x00;      // 16 x 8
    private const int RflagsSlot = 0x80;
    private const int HostRspSlot = 0x88;
    private const int OldSignalMask = 0x90;
    private const int BlockedSignals = 0x98;
    private const int FaultSignal = 0xA0, FaultRip = 0xA8, FaultTrap = 0xB0, FaultError = 0xB8;
    private const int PreviousHandlers = 0xC0; // one per trapped signal
    private const int EpilogueStackTop = 0x800;

    // Stub page layout.
    private const int RecoveryOffset = 0x900;
    private const int HandlerOffset = 0xA00, HandlerStride = 0x80;

    // ucontext_t (x86-64 glibc): uc_mcontext.gregs[REG_x] offsets.
    private const int UcRsp = 160, UcRip = 168, UcErr = 192, UcTrapno = 200;

    private const int SysRtSigprocmask = 14, SigBlock = 0, SigSetmask = 2;

    /// <summary>SIGILL, SIGTRAP, SIGBUS, SIGFPE, SIGSEGV: the signals a faulting instruction raises.</summary>
    private static readonly int[] TrappedSignals = { 4, 5, 7, 8, 11 };

    private static readonly Lazy<HostCpu> SharedInstance = new(() => new HostCpu());

    private readonly nint _region;
    private readonly delegate* unmanaged<void> _entry;

    /// <summary>The process-wide native runner (created on first use; x86-64 Linux only).</summary>
    public static HostCpu Shared => SharedInstance.Value;

    /// <summary>Serialises users of <see cref="Shared"/>: one case at a time.</summary>
    public object Gate { get; } = new();

    private HostCpu()
    {
        if (!HostPlatform.IsX64Linux) throw new PlatformNotSupportedException(HostPlatform.SkipReason);
        const int rw = LibC.ProtRead | LibC.ProtWrite;
        _region = LibC.mmap(unchecked((nint)TestMachineLayout.PreferredBase), TestMachineLayout.TotalSize, rw,
            LibC.MapPrivate | LibC.MapAnonymous | LibC.MapFixedNoReplace, -1, 0);
        if (_region == LibC.MapFailed)
            _region = LibC.mmap(0, TestMachineLayout.TotalSize, rw, LibC.MapPrivate | LibC.MapAnonymous, -1, 0);
        if (_region == LibC.MapFailed)
            throw new InvalidOperationException($"mmap failed: errno {Marshal.GetLastPInvokeError()}");
        Layout = new TestMachineLayout((ulong)_region);

        ulong blocked = ulong.MaxValue;
        foreach (int signal in TrappedSignals) blocked &= ~(1UL << (signal - 1)); // a blocked fault signal kills the process
        State(BlockedSignals) = blocked;

        var stub = BuildStub(Layout);
        stub.CopyTo(new Span<byte>((void*)Layout.Base, stub.Length));
        Protect(TestMachineLayout.StubOffset, TestMachineLayout.PageSize, LibC.ProtRead | LibC.ProtExec);
        _entry = (delegate* unmanaged<void>)(Layout.Base + TestMachineLayout.StubOffset);
        InstallFaultHandlers();
    }

    /// <summary>The addresses of the region.</summary>
    public TestMachineLayout Layout { get; }

    /// <summary>The scratch area as the native code sees it.</summary>
    public Span<byte> Scratch => new((void*)Layout.ScratchAddress, TestMachineLayout.ScratchSize);

    private ref ulong State(int offset) => ref *(ulong*)(Layout.StateAddress + (ulong)offset);

    /// <summary>
    /// Runs <paramref name="code"/> (encoded for <see cref="TestMachineLayout.CodeAddress"/>; it must
    /// fall through its end) from <paramref name="state"/>, with <see cref="Scratch"/> as it is.
    /// On return <paramref name="state"/> holds the final GPRs and RFLAGS, unless the code
    /// faulted: then the fault is returned and <paramref name="state"/> is meaningless.
    /// Callers of <see cref="Shared"/> hold <see cref="Gate"/>.
    /// </summary>
    public NativeFault Run(ReadOnlySpan<byte> code, CpuRegisters state)
    {
        if (code.Length > TestMachineLayout.MaxCodeLength) throw new ArgumentException("code too long for the code area");

        Protect(TestMachineLayout.CodeOffset, TestMachineLayout.CodeSize, LibC.ProtRead | LibC.ProtWrite);
        var area = new Span<byte>((void*)Layout.CodeAddress, TestMachineLayout.CodeSize);
        area.Fill(0xCC); // int3: running off the end traps instead of executing stale bytes
        code.CopyTo(area);
        WriteJumpToEpilogue(area[code.Length..], Layout.CodeAddress + (ulong)code.Length, Layout.EpilogueAddress);
        Protect(TestMachineLayout.CodeOffset, TestMachineLayout.CodeSize, LibC.ProtRead | LibC.ProtExec);

        for (int i = 0; i < 16; i++) State(GprSlots + 8 * i) = state.Gpr[i];
        State(RflagsSlot) = state.Rflags;
        State(FaultSignal) = 0;
        _entry();
        if (State(FaultSignal) != 0)
            return new NativeFault((int)State(FaultSignal), State(FaultRip), State(FaultTrap), State(FaultError));
        for (int i = 0; i < 16; i++) state.Gpr[i] = State(GprSlots + 8 * i);
        state.Rflags = State(RflagsSlot);
        return default;
    }

    /// <summary>Writes <c>jmp rel32</c> from <paramref name="at"/> to <paramref name="target"/>: the code area's closing jump, 5 bytes.</summary>
    public static void WriteJumpToEpilogue(Span<byte> destination, ulong at, ulong target)
    {
        long rel = (long)target - (long)(at + 5);
        destination[0] = 0xE9;
        BitConverter.TryWriteBytes(destination[1..5], checked((int)rel));
    }

    private void Protect(int offset, int size, int protection)
    {
        if (LibC.mprotect(_region + offset, (nuint)size, protection) != 0)
            throw new InvalidOperationException($"mprotect failed: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>
    /// Puts our handler in front of each trapped signal's current one, keeping its flags and
    /// mask (the runtime's handlers run on an alternate stack; ours must run where theirs would).
    /// </summary>
    private void InstallFaultHandlers()
    {
        byte* action = stackalloc byte[LibC.SigactionSize];
        byte* previous = stackalloc byte[LibC.SigactionSize];
        for (int i = 0; i < TrappedSignals.Length; i++)
        {
            if (LibC.sigaction(TrappedSignals[i], null, previous) != 0) continue;
            ulong handler = *(ulong*)previous;
            int flags = *(int*)(previous + LibC.SigactionFlagsOffset);
            // Only a three-argument handler can be chained to by a jump; without one, leave the signal alone.
            if (handler < 2 || (flags & LibC.SaSiginfo) == 0) continue;
            State(PreviousHandlers + 8 * i) = handler;
            new Span<byte>(previous, LibC.SigactionSize).CopyTo(new Span<byte>(action, LibC.SigactionSize));
            *(ulong*)action = Layout.Base + HandlerOffset + (ulong)(HandlerStride * i);
            LibC.sigaction(TrappedSignals[i], action, null);
        }
    }

    private static MemoryOperand StateOperand(TestMachineLayout layout, int offset) =>
        new(Register.RIP, (long)(layout.StateAddress + (ulong)offset));

    private static readonly Register[] CalleeSaved = { Register.RBX, Register.RBP, Register.R12, Register.R13, Register.R14, Register.R15 };

    private static byte[] BuildStub(TestMachineLayout layout)
    {
        MemoryOperand S(int offset) => StateOperand(layout, offset);
        var stub = new byte[TestMachineLayout.PageSize];
        stub.AsSpan().Fill(0xCC);
        void Place(CodeEmitter e, int offset, int limit)
        {
            var bytes = e.Encode();
            if (bytes.Length > limit - offset) throw new InvalidOperationException($"stub part at 0x{offset:x} too long");
            bytes.CopyTo(stub, offset);
        }

        // ---- prologue (entered from the host) ----
        var e = new CodeEmitter(layout.Base);
        foreach (var r in CalleeSaved) e.Emit(Instruction.Create(Code.Push_r64, r));
        e.Emit(Instruction.Create(Code.Mov_rm64_r64, S(HostRspSlot), Register.RSP));
        EmitSigprocmask(e, layout, SigBlock, BlockedSignals, OldSignalMask);
        e.Emit(Instruction.Create(Code.Push_rm64, S(RflagsSlot)));
        e.Emit(Instruction.Create(Code.Popfq));
        for (int i = 0; i < 16; i++)
            if (i != 4) e.Emit(Instruction.Create(Code.Mov_r64_rm64, Register.RAX + i, S(GprSlots + 8 * i)));
        e.Emit(Instruction.Create(Code.Mov_r64_rm64, Register.RSP, S(GprSlots + 8 * 4)));
        e.Emit(Instruction.CreateBranch(Code.Jmp_rel32_64, layout.CodeAddress));
        Place(e, 0, TestMachineLayout.EpilogueOffset);

        // ---- epilogue: reached by the jump that closes the code area ----
        e.Reset(layout.EpilogueAddress);
        for (int i = 0; i < 16; i++)
            e.Emit(Instruction.Create(Code.Mov_rm64_r64, S(GprSlots + 8 * i), Register.RAX + i));
        e.Emit(Instruction.Create(Code.Lea_r64_m, Register.RSP, S(EpilogueStackTop)));
        e.Emit(Instruction.Create(Code.Pushfq));
        e.Emit(Instruction.Create(Code.Pop_r64, Register.RAX));
        e.Emit(Instruction.Create(Code.Mov_rm64_r64, S(RflagsSlot), Register.RAX));
        EmitReturnToHost(e, layout);
        Place(e, TestMachineLayout.EpilogueOffset, RecoveryOffset);

        // ---- recovery: where a caught fault resumes (RSP = the epilogue's stack) ----
        e.Reset(layout.Base + RecoveryOffset);
        EmitReturnToHost(e, layout);
        Place(e, RecoveryOffset, HandlerOffset);

        // ---- signal handlers (rdi = signal, rsi = siginfo, rdx = ucontext) ----
        for (int i = 0; i < TrappedSignals.Length; i++)
        {
            int offset = HandlerOffset + HandlerStride * i;
            e.Reset(layout.Base + (ulong)offset);
            int chain = e.CreateLabel();
            e.Emit(Instruction.Create(Code.Mov_r64_rm64, Register.RAX, new MemoryOperand(Register.RDX, UcRip)));
            e.Emit(Instruction.Create(Code.Mov_r64_imm64, Register.RCX, layout.CodeAddress));
            e.Emit(Instruction.Create(Code.Sub_r64_rm64, Register.RAX, Register.RCX));
            e.Emit(Instruction.Create(Code.Cmp_rm64_imm32, Register.RAX, TestMachineLayout.CodeSize));
            e.Branch(Code.Jae_rel8_64, chain);
            e.Emit(Instruction.Create(Code.Mov_rm64_r64, S(FaultSignal), Register.RDI));
            foreach (var (from, to) in new[] { (UcRip, FaultRip), (UcTrapno, FaultTrap), (UcErr, FaultError) })
            {
                e.Emit(Instruction.Create(Code.Mov_r64_rm64, Register.RAX, new MemoryOperand(Register.RDX, from)));
                e.Emit(Instruction.Create(Code.Mov_rm64_r64, S(to), Register.RAX));
            }
            e.Emit(Instruction.Create(Code.Lea_r64_m, Register.RAX, new MemoryOperand(Register.RIP, (long)(layout.Base + RecoveryOffset))));
            e.Emit(Instruction.Create(Code.Mov_rm64_r64, new MemoryOperand(Register.RDX, UcRip), Register.RAX));
            e.Emit(Instruction.Create(Code.Lea_r64_m, Register.RAX, S(EpilogueStackTop)));
            e.Emit(Instruction.Create(Code.Mov_rm64_r64, new MemoryOperand(Register.RDX, UcRsp), Register.RAX));
            e.Emit(Instruction.Create(Code.Retnq));
            e.Bind(chain);
            e.Emit(Instruction.Create(Code.Jmp_rm64, S(PreviousHandlers + 8 * i)));
            Place(e, offset, offset + HandlerStride);
        }
        return stub;
    }

    /// <summary>Resets RFLAGS, restores the host's RSP, then the signal mask, then the callee-saved registers, and returns.</summary>
    private static void EmitReturnToHost(CodeEmitter e, TestMachineLayout layout)
    {
        // Hand the host a clean RFLAGS: DF clear (the ABI requires it), AC/NT/ID clear.
        e.Emit(Instruction.Create(Code.Pushq_imm32, 0x202));
        e.Emit(Instruction.Create(Code.Popfq));
        // Back on the host's stack before unblocking: a signal that waited (a child's SIGCHLD, the
        // runtime's activation signal) is delivered the moment the mask is restored, and its frame
        // (about 3.5 KiB with AVX-512 state) would not fit below the state page's small stack: it ran
        // into the read-only stub page and the kernel killed the test host.
        e.Emit(Instruction.Create(Code.Mov_r64_rm64, Register.RSP, StateOperand(layout, HostRspSlot)));
        EmitSigprocmask(e, layout, SigSetmask, OldSignalMask, -1);
        for (int i = CalleeSaved.Length - 1; i >= 0; i--) e.Emit(Instruction.Create(Code.Pop_r64, CalleeSaved[i]));
        e.Emit(Instruction.Create(Code.Retnq));
    }

    /// <summary>rt_sigprocmask(how, &amp;set, &amp;old or NULL, 8): clobbers RAX, RCX, RDX, RSI, RDI, R10, R11 only.</summary>
    private static void EmitSigprocmask(CodeEmitter e, TestMachineLayout layout, int how, int setOffset, int oldOffset)
    {
        e.Emit(Instruction.Create(Code.Mov_r32_imm32, Register.EAX, SysRtSigprocmask));
        e.Emit(Instruction.Create(Code.Mov_r32_imm32, Register.EDI, how));
        e.Emit(Instruction.Create(Code.Lea_r64_m, Register.RSI, StateOperand(layout, setOffset)));
        if (oldOffset >= 0) e.Emit(Instruction.Create(Code.Lea_r64_m, Register.RDX, StateOperand(layout, oldOffset)));
        else e.Emit(Instruction.Create(Code.Xor_r32_rm32, Register.EDX, Register.EDX));
        e.Emit(Instruction.Create(Code.Mov_r32_imm32, Register.R10D, 8));
        e.Emit(Instruction.Create(Code.Syscall));
    }
}
