using Drk.Dispatcher.IR;
using Drk.Dispatcher.Lowering;
using Drk.Dispatcher.Tests.Execution;
using Drk.Dispatcher.Tests.Jit;
using Drk.Dispatcher.Tools;
using Drk.Hv.Cpu;
using Iced.Intel;

namespace Drk.Dispatcher.Tests.Tools;

/// <summary>
/// Guest code assembled with Iced, lowered and wrapped as an <see cref="InstrumentedBlock"/> the
/// way <see cref="ToolHost"/> does; a <see cref="TierTwin"/> over flat memory to run the
/// instrumented result in both tiers.
/// </summary>
internal static class ToolBlockKit
{
    public const ulong CodeBase = IrTestKit.CodeBase;
    public const ulong DataBase = 0x60_0000;
    public const int DataSize = 0x2000;
    public const ulong StackTop = DataBase + 0x1800;

    /// <summary>An address no region maps: a load or store there faults with #PF.</summary>
    public const ulong Unmapped = 0x90_0000;

    /// <summary>Where the blocks' jumps go (nothing is there; the block exits to it).</summary>
    public const ulong Elsewhere = 0x40_8000;

    /// <summary>Decodes and lowers <paramref name="emit"/>'s code at <paramref name="rip"/>, as the dispatcher lowers a block.</summary>
    public static IrBlock Lower(Action<Assembler> emit, int cpl = 0, ulong rip = CodeBase) =>
        new Lowerer().Lower(IrTestKit.Decode(IrTestKit.Assemble(emit, rip), rip), cpl);

    /// <summary>The tool view of <paramref name="block"/>, as kernel code.</summary>
    public static InstrumentedBlock View(IrBlock block) => new(block, 0, CodeRegion.Kernel, null);

    /// <summary>Flat memory: the code page (read-only) and a writable data page pair holding the stack; random contents.</summary>
    public static TierTwin NewTwin(int seed = 1) =>
        TierTwin.Flat(new Random(seed), (CodeBase, 0x1000, false), (DataBase, DataSize, true));

    /// <summary>Both vCPUs at the block's start, CPL 0, with RSI/RDI/RBP/RBX pointing into the data pages and the stack in them.</summary>
    public static void Reset(TierTwin twin, Action<VcpuState>? more = null) => twin.SetState(s =>
    {
        s.Slots.AsSpan().Clear();
        s[GuestReg.Rsp] = StackTop;
        s[GuestReg.Rbp] = StackTop + 0x100;
        s[GuestReg.Rsi] = DataBase + 0x10;
        s[GuestReg.Rdi] = DataBase + 0x400;
        s[GuestReg.Rbx] = DataBase + 0x800;
        s[GuestReg.Rax] = 0x1234_5678_9abc_def0;
        s[GuestReg.Rcx] = 3;
        s.Rip = CodeBase;
        s.Cpl = 0;
        s.InstructionsRetired = 100;
        more?.Invoke(s);
    });
}
