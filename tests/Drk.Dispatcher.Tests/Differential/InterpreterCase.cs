using Drk.Dispatcher.Execution;
using Drk.Dispatcher.Flags;
using Drk.Dispatcher.Tests.Native;
using Drk.Hv.Cpu;
using Iced.Intel;

namespace Drk.Dispatcher.Tests.Differential;

/// <summary>
/// A directed case run through the interpreter only, in the same layout as the differential
/// cases (code and scratch at <see cref="TestMachineLayout.Default"/>; nothing else mapped):
/// for what cannot run natively (faults, FS/GS bases) and whose outcome is architected.
/// </summary>
public sealed class InterpreterCase
{
    public InterpreterCase()
    {
        Cpu = new InterpretedCpu(Layout);
        Code = new CodeEmitter(Layout.CodeAddress);
        for (int i = 0; i < 16; i++) Regs.Gpr[i] = 0x1111_1111_1111_1111UL * (ulong)(i + 1) ^ 0x0123_4567_89AB_CDEFUL;
        Regs.Gpr[4] = Layout.StackTop;
        Regs.Rflags = 0x202 | Drk.Hv.Cpu.Rflags.CF | Drk.Hv.Cpu.Rflags.SF | Drk.Hv.Cpu.Rflags.PF;
        var pattern = Cpu.Scratch;
        for (int i = 0; i < pattern.Length; i++) pattern[i] = (byte)(i * 131 + 7);
    }

    public TestMachineLayout Layout { get; } = TestMachineLayout.Default;
    public InterpretedCpu Cpu { get; }
    public CodeEmitter Code { get; }

    /// <summary>The initial registers (set them before <see cref="Run"/>).</summary>
    public CpuRegisters Regs { get; } = new();

    /// <summary>The registers after <see cref="Run"/>.</summary>
    public CpuRegisters Final { get; } = new();

    public ulong FsBase, GsBase;

    public InterpretedOutcome Outcome { get; private set; } = new();
    public byte[] InitialScratch { get; private set; } = Array.Empty<byte>();
    public byte[] Bytes { get; private set; } = Array.Empty<byte>();

    /// <summary>The first byte past scratch: unmapped.</summary>
    public ulong Unmapped => Layout.ScratchAddress + TestMachineLayout.ScratchSize;

    public ulong Scratch(int offset) => Layout.ScratchAddress + (ulong)offset;

    private readonly List<int> _labels = new();

    /// <summary>Emits <paramref name="insn"/>; returns its number for <see cref="At"/>.</summary>
    public int Emit(in Instruction insn)
    {
        Mark();
        Code.Emit(insn);
        return _labels.Count - 1;
    }

    /// <summary>Emits raw bytes (undecodable or unsupported encodings); returns their number for <see cref="At"/>.</summary>
    public int EmitRaw(params byte[] bytes)
    {
        Mark();
        Code.Raw(bytes);
        return _labels.Count - 1;
    }

    private void Mark()
    {
        int label = Code.CreateLabel();
        Code.Bind(label);
        _labels.Add(label);
    }

    /// <summary>The address of the <paramref name="n"/>-th instruction emitted through <see cref="Emit"/> (valid after <see cref="Run"/>).</summary>
    public ulong At(int n) => Code.AddressOf(_labels[n]);

    public void Run()
    {
        Bytes = Code.Encode();
        InitialScratch = Cpu.Scratch.ToArray();
        Final.CopyFrom(Regs);
        Outcome = Cpu.Run(Bytes, Final, FsBase, GsBase);
        Assert.True(Outcome.HostException == null, $"the interpreter threw: {Outcome.HostException}");
    }

    /// <summary>Asserts a guest exception <paramref name="vector"/> raised by the instruction at <paramref name="rip"/>, with the state as it was before that instruction.</summary>
    public GuestFault AssertFault(ExceptionVector vector, ulong rip)
    {
        if (Outcome.Status != RunStatus.Exception || Outcome.Fault.Vector != vector)
            Assert.Fail($"expected {vector} at {rip:x}, got {Outcome}\n{Listing()}");
        if (Outcome.Fault.Rip != rip)
            Assert.Fail($"fault RIP {Outcome.Fault.Rip:x}, expected {rip:x} ({Outcome.Fault})\n{Listing()}");
        if (Cpu.State.Rip != rip)
            Assert.Fail($"state RIP {Cpu.State.Rip:x}, expected the faulting instruction's {rip:x}\n{Listing()}");
        return Outcome.Fault;
    }

    /// <summary>Asserts the final GPRs equal <paramref name="expected"/> (default: the initial ones) and the comparable flags equal the initial ones.</summary>
    public void AssertRegisters(CpuRegisters? expected = null, string context = "")
    {
        expected ??= Regs;
        // Messages are built only on failure: the listing lowers the code again.
        for (int i = 0; i < 16; i++)
            if (expected.Gpr[i] != Final.Gpr[i])
                Assert.Fail($"{context}{CpuRegisters.Name(i)}: expected {expected.Gpr[i]:x16}, actual {Final.Gpr[i]:x16}\n{Listing()}");
        if ((expected.Rflags & CpuRegisters.ComparableFlags) != (Final.Rflags & CpuRegisters.ComparableFlags))
            Assert.Fail($"{context}flags: expected {CpuRegisters.FlagNames(expected.Rflags)}, actual {CpuRegisters.FlagNames(Final.Rflags)}\n{Listing()}");
    }

    /// <summary>Asserts scratch is byte for byte as it was, except the given bytes.</summary>
    public void AssertScratchUnchanged(params (ulong Address, byte[] Bytes)[] except)
    {
        var expected = (byte[])InitialScratch.Clone();
        foreach (var (address, bytes) in except) bytes.CopyTo(expected, (int)(address - Layout.ScratchAddress));
        var actual = Cpu.Scratch;
        for (int i = 0; i < expected.Length; i++)
            if (expected[i] != actual[i])
                Assert.Fail($"scratch+0x{i:x} ({Layout.ScratchAddress + (ulong)i:x}): expected {expected[i]:x2}, actual {actual[i]:x2}\n{Listing()}");
    }

    /// <summary>The initial registers with some replaced: the expected state after earlier, committed instructions.</summary>
    public CpuRegisters With(params (int Gpr, ulong Value)[] changes)
    {
        var r = new CpuRegisters();
        r.CopyFrom(Regs);
        foreach (var (gpr, value) in changes) r.Gpr[gpr] = value;
        return r;
    }

    public string Listing() =>
        "code:\n" + CodeListing.Format(CodeListing.Decode(Bytes, Layout.CodeAddress), Bytes, Layout.CodeAddress) +
        "IR:\n" + Cpu.IrReport(Layout.CodeAddress, Layout.CodeAddress + (ulong)Bytes.Length);
}
