using Drk.Dispatcher.Execution;
using Drk.Dispatcher.IR;
using Drk.Dispatcher.Jit;
using Drk.Dispatcher.Tests.Execution;
using Drk.Hv.Boot;
using Drk.Hv.Cpu;
using Drk.Hv.Memory;

namespace Drk.Dispatcher.Tests.Jit;

/// <summary>
/// Two identical guests (same memory contents, same vCPU state, each with its own scripted system
/// instructions): one executes blocks with the interpreter, the other with the block compiled by
/// <see cref="IlCompiler"/>. <see cref="Run"/> executes a block on both and asserts that everything
/// observable is identical: the <see cref="BlockResult"/>, every slot, CPL, the retired clock,
/// memory, the system calls made, and the host exception if one was thrown.
/// </summary>
internal sealed class TierTwin : IDisposable
{
    public const ulong RamSize = 16UL << 20;
    private const ulong PageTablesBase = 0x10_0000;

    private readonly Dictionary<IrBlock, CompiledBlock> _compiled = new();

    /// <summary>One of the two guests.</summary>
    public sealed class Side
    {
        public required IGuestMemory Memory;
        public required Func<byte[]> Image;
        public PhysicalMemory? Physical;
        public readonly VcpuState State = new();
        public readonly ScriptedSystemInstructions System = new();
        public readonly CleanCallTable CleanCalls = new();
        public readonly CounterTable Counters = new();
        public IrInterpreter Interpreter = null!;
        public JitRuntime Runtime = null!;
        public IlCompiler Compiler = null!;

        internal void Wire()
        {
            Interpreter = new IrInterpreter(Memory, System, CleanCalls, Counters);
            Runtime = new JitRuntime(Memory, System, CleanCalls, Counters);
            Compiler = new IlCompiler(Runtime);
        }
    }

    public Side Interp { get; }
    public Side Jit { get; }

    private TierTwin(Side interp, Side jit)
    {
        Interp = interp;
        Jit = jit;
        interp.Wire();
        jit.Wire();
    }

    /// <summary>Identity-mapped <see cref="FlatMemory"/> regions (start, size, writable), filled with the same random bytes on both sides.</summary>
    public static TierTwin Flat(Random random, params (ulong Start, int Size, bool Writable)[] regions)
    {
        var contents = new byte[regions.Length][];
        for (int i = 0; i < regions.Length; i++)
        {
            contents[i] = new byte[regions[i].Size];
            random.NextBytes(contents[i]);
        }
        return new TierTwin(FlatSide(regions, contents), FlatSide(regions, contents));
    }

    private static Side FlatSide((ulong Start, int Size, bool Writable)[] regions, byte[][] contents)
    {
        var memory = new FlatMemory();
        var bytes = new byte[regions.Length][];
        for (int i = 0; i < regions.Length; i++)
        {
            bytes[i] = (byte[])contents[i].Clone();
            memory.Map(regions[i].Start, bytes[i], regions[i].Writable);
        }
        return new Side { Memory = memory, Image = () => bytes.SelectMany(b => b).ToArray() };
    }

    /// <summary>
    /// The hypervisor's memory path: 16 MiB of RAM behind an <see cref="Mmu"/> with the loader's
    /// identity page tables (supervisor-only, first 4 GiB) when <paramref name="paging"/>, or with
    /// paging off (every access allowed, user or not). <paramref name="fill"/> writes the same bytes into both.
    /// </summary>
    public static TierTwin Mmu(bool paging, Action<PhysicalMemory>? fill = null) => new(MmuSide(paging, fill), MmuSide(paging, fill));

    private static Side MmuSide(bool paging, Action<PhysicalMemory>? fill)
    {
        var physical = new PhysicalMemory(RamSize);
        fill?.Invoke(physical);
        var side = new Side { Memory = null!, Image = () => physical.GetRamSpan(0, (int)RamSize).ToArray(), Physical = physical };
        if (paging)
        {
            side.State.Sys.Cr3 = IdentityPageTables.Build(physical, PageTablesBase);
            side.State.Sys.Cr0 = LongModeEntry.Cr0;
            side.State.Sys.Cr4 = LongModeEntry.Cr4;
            side.State.Sys.Efer = LongModeEntry.Efer;
        }
        side.Memory = new Mmu(physical, side.State);
        return side;
    }

    /// <summary>Sets both states from <paramref name="setup"/> applied to the interpreter's (system registers are left as they are).</summary>
    public void SetState(Action<VcpuState> setup)
    {
        setup(Interp.State);
        Jit.State.Slots.AsSpan().Clear();
        Interp.State.Slots.AsSpan().CopyTo(Jit.State.Slots);
        Jit.State.Cpl = Interp.State.Cpl;
        Jit.State.InstructionsRetired = Interp.State.InstructionsRetired;
        Jit.State.IdleTicks = Interp.State.IdleTicks;
    }

    /// <summary>The compiled code of <paramref name="block"/> (compiled once per twin).</summary>
    public CompiledBlock CodeFor(IrBlock block)
    {
        if (!_compiled.TryGetValue(block, out var code)) _compiled[block] = code = Jit.Compiler.Compile(block);
        return code;
    }

    /// <summary>
    /// Runs <paramref name="blocks"/> on the interpreter's side from block <paramref name="first"/>,
    /// following plain exits by RIP while they lead to one of the blocks, as a trace of them goes;
    /// returns the result of the block that left.
    /// </summary>
    public BlockResult InterpretPath(IrBlock[] blocks, int first = 0)
    {
        var block = blocks[first];
        while (true)
        {
            var result = Interp.Interpreter.Execute(block, Interp.State);
            var next = Array.Find(blocks, b => b.StartRip == Interp.State.Rip);
            if (result.End != BlockEnd.Exit || next is null) return result;
            block = next;
        }
    }

    /// <summary>Executes <paramref name="block"/> on both sides and asserts identical outcomes; returns the interpreter's result.</summary>
    public BlockResult Run(IrBlock block, string where, bool compareMemory = true)
    {
        var code = CodeFor(block);
        var (expected, expectedError) = Capture(() => Interp.Interpreter.Execute(block, Interp.State));
        var (actual, actualError) = Capture(() => code.Execute(Jit.State));
        AssertSameError(expectedError, actualError, where);
        AssertSameResult(expected, actual, where);
        AssertSameState(where);
        AssertSameSystemCalls(where);
        if (compareMemory) AssertSameMemory(where);
        return expected;
    }

    private static (BlockResult, Exception?) Capture(Func<BlockResult> run)
    {
        try
        {
            return (run(), null);
        }
        catch (Exception e)
        {
            return (default, e);
        }
    }

    private static void AssertSameError(Exception? expected, Exception? actual, string where)
    {
        if (expected is null && actual is null) return;
        Assert.True(expected is not null && actual is not null,
            $"{where}: interpreter threw {expected?.GetType().Name ?? "nothing"}, JIT threw {actual?.ToString() ?? "nothing"}");
        Assert.True(expected!.GetType() == actual!.GetType() && expected.Message == actual.Message,
            $"{where}: interpreter threw {expected}, JIT threw {actual}");
    }

    public static void AssertSameResult(BlockResult expected, BlockResult actual, string where)
    {
        Assert.True(expected.End == actual.End && expected.Retired == actual.Retired,
            $"{where}: interpreter {expected}, JIT {actual}");
        var f = expected.Fault;
        var g = actual.Fault;
        Assert.True(f.Vector == g.Vector && f.HasErrorCode == g.HasErrorCode && f.ErrorCode == g.ErrorCode && f.Cr2 == g.Cr2 && f.Rip == g.Rip,
            $"{where}: fault {f} vs {g}");
        Assert.True((f.Bytes is null) == (g.Bytes is null) && (f.Bytes is null || f.Bytes.AsSpan().SequenceEqual(g.Bytes)),
            $"{where}: #UD bytes differ ({f} vs {g})");
    }

    public void AssertSameState(string where)
    {
        var a = Interp.State;
        var b = Jit.State;
        for (int slot = 0; slot < GuestReg.Count; slot++)
            Assert.True(a.Slots[slot] == b.Slots[slot], $"{where}: {GuestReg.Name(slot)} interpreter {a.Slots[slot]:x} JIT {b.Slots[slot]:x}");
        Assert.True(a.Cpl == b.Cpl, $"{where}: CPL {a.Cpl} vs {b.Cpl}");
        Assert.True(a.InstructionsRetired == b.InstructionsRetired, $"{where}: retired clock {a.InstructionsRetired} vs {b.InstructionsRetired}");
    }

    private void AssertSameSystemCalls(string where)
    {
        Assert.True(Interp.System.Calls.SequenceEqual(Jit.System.Calls), $"{where}: system calls differ");
        Assert.True(Interp.System.Clocks.SequenceEqual(Jit.System.Clocks), $"{where}: clocks seen by system instructions differ");
    }

    public void AssertSameMemory(string where)
    {
        var a = Interp.Image();
        var b = Jit.Image();
        int at = a.AsSpan().CommonPrefixLength(b);
        Assert.True(at == a.Length && a.Length == b.Length, $"{where}: memory differs at byte {at} of the image");
    }

    public void Dispose()
    {
        Interp.Physical?.Dispose();
        Jit.Physical?.Dispose();
    }
}
