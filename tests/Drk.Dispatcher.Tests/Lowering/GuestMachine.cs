using Drk.Dispatcher.Execution;
using Drk.Dispatcher.IR;
using Drk.Dispatcher.Lowering;
using Drk.Hv.Cpu;
using Drk.Hv.Memory;
using Iced.Intel;

namespace Drk.Dispatcher.Tests.Lowering;

/// <summary>
/// A small identity-mapped guest for execution tests: code at <see cref="LoweringTestKit.CodeBase"/>,
/// a data region and a stack, a vCPU state and a <see cref="GuestRunner"/> with a recording
/// system-instruction stand-in. The code runs until RIP reaches its end.
/// </summary>
internal sealed class GuestMachine
{
    public const ulong DataBase = 0x60_0000;
    public const int DataSize = 0x1_0000;
    public const ulong StackBase = 0x7f_0000;
    public const int StackSize = 0x1_0000;
    public const ulong StackTop = StackBase + StackSize;

    /// <summary>RFLAGS bit 1, which always reads as one.</summary>
    public const ulong InitialFlagsOther = Drk.Hv.Cpu.Rflags.Reserved1;

    public readonly FlatMemory Memory = new();
    public readonly byte[] Code;
    public readonly byte[] Data = new byte[DataSize];
    public readonly byte[] Stack = new byte[StackSize];
    public readonly VcpuState State = new();
    public readonly RecordingSystemInstructions System = new();
    public readonly GuestRunner Runner;

    public GuestMachine(Action<Assembler> emit, bool withSystem = true)
    {
        Code = LoweringTestKit.Assemble(emit);
        Memory.Map(LoweringTestKit.CodeBase, Code, writable: false);
        Memory.Map(DataBase, Data);
        Memory.Map(StackBase, Stack, executable: false);
        Runner = new GuestRunner(Memory, withSystem ? System : null);
        State.Rip = LoweringTestKit.CodeBase;
        State[GuestReg.Rsp] = StackTop - 0x100;
        State.Slots[GuestReg.FlagsOther] = InitialFlagsOther;
    }

    /// <summary>RIP just past the code.</summary>
    public ulong End => LoweringTestKit.CodeBase + (ulong)Code.Length;

    /// <summary>RIP of the <paramref name="n"/>-th instruction of the code (0-based).</summary>
    public ulong RipOf(int n) => LoweringTestKit.Decode(Code)[n].Rip;

    public ulong this[int gpr]
    {
        get => State[gpr];
        set => State[gpr] = value;
    }

    /// <summary>The full RFLAGS value (thunk plus flags_other); setting it stores the arithmetic flags as a Copy thunk.</summary>
    public ulong Rflags
    {
        get => GuestRflags.Read(State);
        set => GuestRflags.Write(State, value);
    }

    public bool Df
    {
        set => State.Slots[GuestReg.FlagsOther] = value
            ? State.Slots[GuestReg.FlagsOther] | Drk.Hv.Cpu.Rflags.DF
            : State.Slots[GuestReg.FlagsOther] & ~Drk.Hv.Cpu.Rflags.DF;
    }

    /// <summary>Runs to the end of the code; fails the test on anything but reaching it.</summary>
    public void Run(long maxInstructions = 1_000_000)
    {
        var status = Runner.Run(State, End, maxInstructions, out var fault);
        Assert.True(status == RunStatus.Stopped, $"run ended with {status} ({fault}) at rip={State.Rip:x}");
    }

    /// <summary>Runs and returns how it ended, with the fault.</summary>
    public RunStatus RunUntilStop(out GuestFault fault, long maxInstructions = 1_000_000) =>
        Runner.Run(State, End, maxInstructions, out fault);

    /// <summary>Lowers the code for <paramref name="cpl"/> and interprets exactly one block (for CPL-dependent lowering).</summary>
    public BlockResult ExecuteOneBlock(int cpl)
    {
        var block = new Lowerer().Lower(LoweringTestKit.Decode(Code), cpl);
        return new IrInterpreter(Memory, System).Execute(block, State);
    }

    public ulong ReadData(int offset, int size) => LittleEndianBytes.Read(Data, offset, size);

    public void WriteData(int offset, ulong value, int size) => LittleEndianBytes.Write(Data, offset, value, size);

    public ulong ReadStack(ulong address, int size) => LittleEndianBytes.Read(Stack, (int)(address - StackBase), size);

    public void WriteStack(ulong address, ulong value, int size) => LittleEndianBytes.Write(Stack, (int)(address - StackBase), value, size);

    /// <summary>A copy of all slots, to compare the state after a fault with the state before.</summary>
    public ulong[] Snapshot() => (ulong[])State.Slots.Clone();
}
