using System.Runtime.InteropServices;
using Iced.Intel;

namespace Drk.Dispatcher.Tests.Native;

/// <summary>
/// Runs short x86-64 sequences natively in the test process: a generated prologue loads all 16
/// GPRs and RFLAGS from a state buffer, the sequence runs, and an epilogue stores them back and
/// returns to the host. One mmap'd region (<see cref="TestMachineLayout"/>) is reused for every
/// case, so a case costs two mprotect calls and a few copies, never an mmap.
/// </summary>
/// <remarks>
/// <para>The code under test owns every register, RSP included: the prologue saves the host's
/// callee-saved registers and RSP in the state page, and the epilogue reaches its buffers
/// RIP-relatively, so it needs no free register and does not touch the case's stack. Before
/// loading the case's state the prologue blocks all signals (rt_sigprocmask) so that no signal
/// frame is ever pushed on the case's stack; the epilogue restores the mask, resets RFLAGS (DF
/// clear as the host ABI requires, AC/NT/ID clear) and returns.</para>
/// <para>Nothing here recovers from a fault: a case that faults natively kills the test process.
/// Generators filter such cases out (see the Differential suites) and test them through the
/// interpreter only.</para>
/// </remarks>
public sealed unsafe class HostCpu : IDisposable
{
    // State page layout (offsets from StateAddress).
    private const int GprSlots = 0x00;      // 16 x 8
    private const int RflagsSlot = 0x80;
    private const int HostRspSlot = 0x88;
    private const int OldSignalMask = 0x90;
    private const int AllSignalsMask = 0x98;
    private const int EpilogueStackTop = 0x800;

    private const int SysRtSigprocmask = 14, SigBlock = 0, SigSetmask = 2;

    private readonly nint _region;
    private readonly delegate* unmanaged<void> _entry;
    private bool _disposed;

    /// <summary>Maps the region (at <see cref="TestMachineLayout.PreferredBase"/> when free) and generates the stubs.</summary>
    public HostCpu()
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

        *(ulong*)(Layout.StateAddress + AllSignalsMask) = ulong.MaxValue;
        var stub = BuildStub(Layout);
        if (stub.Length > TestMachineLayout.PageSize) throw new InvalidOperationException("stub larger than its page");
        stub.CopyTo(new Span<byte>((void*)Layout.Base, stub.Length));
        Protect(TestMachineLayout.StubOffset, TestMachineLayout.PageSize, LibC.ProtRead | LibC.ProtExec);
        _entry = (delegate* unmanaged<void>)(Layout.Base + TestMachineLayout.StubOffset);
    }

    /// <summary>The addresses of this region.</summary>
    public TestMachineLayout Layout { get; }

    /// <summary>The scratch area as the native code sees it.</summary>
    public Span<byte> Scratch => new((void*)Layout.ScratchAddress, TestMachineLayout.ScratchSize);

    /// <summary>
    /// Runs <paramref name="code"/> (encoded for <see cref="TestMachineLayout.CodeAddress"/>; it must
    /// fall through its end) from <paramref name="state"/>, with <see cref="Scratch"/> as it is.
    /// On return <paramref name="state"/> holds the final GPRs and RFLAGS.
    /// </summary>
    public void Run(ReadOnlySpan<byte> code, CpuRegisters state)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (code.Length > TestMachineLayout.MaxCodeLength) throw new ArgumentException("code too long for the code area");

        Protect(TestMachineLayout.CodeOffset, TestMachineLayout.CodeSize, LibC.ProtRead | LibC.ProtWrite);
        var area = new Span<byte>((void*)Layout.CodeAddress, TestMachineLayout.CodeSize);
        area.Fill(0xCC); // int3: running off the end traps instead of executing stale bytes
        code.CopyTo(area);
        WriteJumpToEpilogue(area[code.Length..], Layout.CodeAddress + (ulong)code.Length, Layout.EpilogueAddress);
        Protect(TestMachineLayout.CodeOffset, TestMachineLayout.CodeSize, LibC.ProtRead | LibC.ProtExec);

        var slots = (ulong*)Layout.StateAddress;
        for (int i = 0; i < 16; i++) slots[i] = state.Gpr[i];
        slots[RflagsSlot / 8] = state.Rflags;
        _entry();
        for (int i = 0; i < 16; i++) state.Gpr[i] = slots[i];
        state.Rflags = slots[RflagsSlot / 8];
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

    private static MemoryOperand State(TestMachineLayout layout, int offset) =>
        new(Register.RIP, (long)(layout.StateAddress + (ulong)offset));

    private static readonly Register[] CalleeSaved = { Register.RBX, Register.RBP, Register.R12, Register.R13, Register.R14, Register.R15 };

    private static byte[] BuildStub(TestMachineLayout layout)
    {
        var e = new CodeEmitter(layout.Base);
        // ---- prologue ----
        foreach (var r in CalleeSaved) e.Emit(Instruction.Create(Code.Push_r64, r));
        e.Emit(Instruction.Create(Code.Mov_rm64_r64, State(layout, HostRspSlot), Register.RSP));
        EmitSigprocmask(e, layout, SigBlock, AllSignalsMask, OldSignalMask);
        e.Emit(Instruction.Create(Code.Push_rm64, State(layout, RflagsSlot)));
        e.Emit(Instruction.Create(Code.Popfq));
        for (int i = 0; i < 16; i++)
            if (i != 4) e.Emit(Instruction.Create(Code.Mov_r64_rm64, Register.RAX + i, State(layout, GprSlots + 8 * i)));
        e.Emit(Instruction.Create(Code.Mov_r64_rm64, Register.RSP, State(layout, GprSlots + 8 * 4)));
        e.Emit(Instruction.CreateBranch(Code.Jmp_rel32_64, layout.CodeAddress));
        var prologue = e.Encode();

        e.Reset(layout.EpilogueAddress);
        // ---- epilogue: reached by the jump that closes the code area ----
        for (int i = 0; i < 16; i++)
            e.Emit(Instruction.Create(Code.Mov_rm64_r64, State(layout, GprSlots + 8 * i), Register.RAX + i));
        e.Emit(Instruction.Create(Code.Lea_r64_m, Register.RSP, State(layout, EpilogueStackTop)));
        e.Emit(Instruction.Create(Code.Pushfq));
        e.Emit(Instruction.Create(Code.Pop_r64, Register.RAX));
        e.Emit(Instruction.Create(Code.Mov_rm64_r64, State(layout, RflagsSlot), Register.RAX));
        // Hand the host a clean RFLAGS: DF clear (the ABI requires it), AC/NT/ID as the host had them (clear).
        e.Emit(Instruction.Create(Code.Pushq_imm32, 0x202));
        e.Emit(Instruction.Create(Code.Popfq));
        EmitSigprocmask(e, layout, SigSetmask, OldSignalMask, -1);
        e.Emit(Instruction.Create(Code.Mov_r64_rm64, Register.RSP, State(layout, HostRspSlot)));
        for (int i = CalleeSaved.Length - 1; i >= 0; i--) e.Emit(Instruction.Create(Code.Pop_r64, CalleeSaved[i]));
        e.Emit(Instruction.Create(Code.Retnq));
        var epilogue = e.Encode();

        if (prologue.Length > TestMachineLayout.EpilogueOffset) throw new InvalidOperationException("prologue too long");
        var stub = new byte[TestMachineLayout.EpilogueOffset + epilogue.Length];
        stub.AsSpan().Fill(0xCC);
        prologue.CopyTo(stub, 0);
        epilogue.CopyTo(stub, TestMachineLayout.EpilogueOffset);
        return stub;
    }

    /// <summary>rt_sigprocmask(how, &amp;set, &amp;old or NULL, 8): clobbers RAX, RCX, RDX, RSI, RDI, R10, R11 only.</summary>
    private static void EmitSigprocmask(CodeEmitter e, TestMachineLayout layout, int how, int setOffset, int oldOffset)
    {
        e.Emit(Instruction.Create(Code.Mov_r32_imm32, Register.EAX, SysRtSigprocmask));
        e.Emit(Instruction.Create(Code.Mov_r32_imm32, Register.EDI, how));
        e.Emit(Instruction.Create(Code.Lea_r64_m, Register.RSI, State(layout, setOffset)));
        if (oldOffset >= 0) e.Emit(Instruction.Create(Code.Lea_r64_m, Register.RDX, State(layout, oldOffset)));
        else e.Emit(Instruction.Create(Code.Xor_r32_rm32, Register.EDX, Register.EDX));
        e.Emit(Instruction.Create(Code.Mov_r32_imm32, Register.R10D, 8));
        e.Emit(Instruction.Create(Code.Syscall));
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        LibC.munmap(_region, TestMachineLayout.TotalSize);
    }
}
