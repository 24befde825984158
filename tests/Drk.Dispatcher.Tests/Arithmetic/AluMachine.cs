using Drk.Dispatcher.Execution;
using Drk.Hv.Cpu;
using Drk.Hv.Memory;
using Iced.Intel;

namespace Drk.Dispatcher.Tests.Arithmetic;

/// <summary>
/// A tiny identity-mapped guest for the arithmetic execution tests: code, a writable data page,
/// a read-only page (for faulting read-modify-writes), a stack, and a <see cref="GuestRunner"/>
/// that runs the code to its end.
/// </summary>
internal sealed class AluMachine
{
    public const ulong CodeBase = 0x40_1000;
    public const ulong DataBase = 0x60_0000;
    public const int DataSize = 0x2000;
    public const ulong ReadOnlyBase = 0x70_0000;
    public const ulong StackBase = 0x7f_0000;

    public readonly byte[] Code;
    public readonly byte[] Data = new byte[DataSize];
    public readonly byte[] ReadOnly = new byte[0x1000];
    public readonly VcpuState State = new();
    public readonly GuestRunner Runner;

    public AluMachine(Action<Assembler> emit)
    {
        var assembler = new Assembler(64);
        emit(assembler);
        var stream = new MemoryStream();
        assembler.Assemble(new StreamCodeWriter(stream), CodeBase);
        Code = stream.ToArray();
        var memory = new FlatMemory();
        memory.Map(CodeBase, Code, writable: false);
        memory.Map(DataBase, Data, executable: false);
        memory.Map(ReadOnlyBase, ReadOnly, writable: false, executable: false);
        memory.Map(StackBase, new byte[0x1000], executable: false);
        Runner = new GuestRunner(memory);
        State.Rip = CodeBase;
        State[GuestReg.Rsp] = StackBase + 0x800;
        Rflags = 0;
    }

    /// <summary>RIP just past the code.</summary>
    public ulong End => CodeBase + (ulong)Code.Length;

    public ulong this[int gpr]
    {
        get => State[gpr];
        set => State[gpr] = value;
    }

    /// <summary>RFLAGS as the guest sees it; setting it stores the arithmetic flags as a Copy thunk (bit 1 always set).</summary>
    public ulong Rflags
    {
        get => GuestRflags.Read(State);
        set => GuestRflags.Write(State, value);
    }

    /// <summary>The six arithmetic flags.</summary>
    public ulong ArithmeticFlags => Rflags & Drk.Hv.Cpu.Rflags.Arithmetic;

    /// <summary>RIP of instruction <paramref name="n"/> (0-based) of the code.</summary>
    public ulong RipOf(int n)
    {
        var decoder = Decoder.Create(64, new ByteArrayCodeReader(Code), CodeBase);
        for (int i = 0; i < n; i++) decoder.Decode();
        return decoder.IP;
    }

    /// <summary>Runs to the end of the code; fails the test on anything else.</summary>
    public void Run()
    {
        var status = Runner.Run(State, End, 10_000, out var fault);
        Assert.True(status == RunStatus.Stopped, $"run ended with {status} ({fault}) at rip={State.Rip:x}");
    }

    /// <summary>Runs and returns how the run ended.</summary>
    public RunStatus RunToFault(out GuestFault fault) => Runner.Run(State, End, 10_000, out fault);

    public ulong ReadData(int offset, int size) => LittleEndianBytes.Read(Data, offset, size);

    public void WriteData(int offset, ulong value, int size) => LittleEndianBytes.Write(Data, offset, value, size);
}
