using Drk.Dispatcher.Execution;
using Drk.Dispatcher.Flags;
using Drk.Dispatcher.IR;
using Drk.Dispatcher.Jit;
using Drk.Dispatcher.Tests.Execution;
using Drk.Hv.Cpu;
using Drk.Hv.Memory;

namespace Drk.Dispatcher.Tests.Jit;

/// <summary>
/// CLI, STI and SWAPGS in a trace entered at CPL 0 are done by the generated code itself when the
/// system says its own code for them is the architecture's (<see cref="ISystemInstructions.IsArchitecturalAtCpl0"/>),
/// and called otherwise. Either way the guest state after the trace is the interpreter's, which
/// always calls the hypervisor's <see cref="SystemInstructions"/>.
/// </summary>
public sealed class InlineSystemOpTests
{
    private const ulong A = 0x40_1000, B = 0x40_2000, Out = 0x40_3000;

    /// <summary>The hypervisor's system instructions, counted, vouching for their CPL-0 ops or not.</summary>
    private sealed class CountingSystem(bool vouches) : ISystemInstructions
    {
        private readonly SystemInstructions _real = new(LazyFlagsAccess.Instance);
        public readonly List<SystemOp> Calls = new();

        public SystemOutcome Execute(SystemOp op, VcpuState state, IGuestMemory memory, ulong a, ulong b, out ulong result, out GuestFault fault)
        {
            Calls.Add(op);
            return _real.Execute(op, state, memory, a, b, out result, out fault);
        }

        public bool IsArchitecturalAtCpl0(SystemOp op) => vouches && _real.IsArchitecturalAtCpl0(op);
    }

    // A: SWAPGS, read the GS base, CLI (or not). B: SWAPGS again, read the GS base and the flags,
    // STI (last, as the decoder ends a block after it).
    private static IrBlock[] Path(bool cli) =>
    [
        IrTestKit.Block(A, cli ? 3 : 2, ir =>
        {
            ir.System(SystemOp.Swapgs, IrValue.None, IrValue.None);
            ir.Guest = 1;
            ir.PutReg(GuestReg.Rax, ir.GetReg(GuestReg.GsBase));
            if (cli)
            {
                ir.Guest = 2;
                ir.System(SystemOp.Cli, IrValue.None, IrValue.None);
            }
            ir.Exit(B);
        }),
        IrTestKit.Block(B, 3, ir =>
        {
            ir.System(SystemOp.Swapgs, IrValue.None, IrValue.None);
            ir.Guest = 1;
            ir.PutReg(GuestReg.Rbx, ir.Add(ir.GetReg(GuestReg.GsBase), ir.GetReg(GuestReg.FlagsOther)));
            ir.Guest = 2;
            ir.System(SystemOp.Sti, IrValue.None, IrValue.None);
            ir.Exit(Out);
        }),
    ];

    private static VcpuState State(bool interruptsOn)
    {
        var state = new VcpuState { Cpl = 0, Rip = A };
        state[GuestReg.GsBase] = 0x1111_0000;
        state.Sys.KernelGsBase = 0xffff_8000_2222_0000;
        state[GuestReg.FlagsOther] = Rflags.Reserved1 | (interruptsOn ? Rflags.IF : 0);
        return state;
    }

    private static (VcpuState State, CountingSystem System) Interpret(bool interruptsOn, bool cli)
    {
        var system = new CountingSystem(vouches: true);
        var state = State(interruptsOn);
        var interpreter = new IrInterpreter(new FlatMemory(), system);
        foreach (var block in Path(cli))
        {
            var result = interpreter.Execute(block, state);
            Assert.Equal(BlockEnd.Exit, result.End);
        }
        return (state, system);
    }

    private static (VcpuState State, CountingSystem System) RunTrace(bool interruptsOn, bool cli, bool vouches, int entryCpl)
    {
        var system = new CountingSystem(vouches);
        var runtime = new JitRuntime(new FlatMemory(), system);
        var trace = new IlCompiler(runtime).CompileTrace(Path(cli), entryCpl);
        runtime.Budget.StopRetired = ulong.MaxValue;
        var state = State(interruptsOn);
        var result = trace.Execute(state);
        Assert.Equal(BlockEnd.Exit, result.End);
        return (state, system);
    }

    [Theory]
    [InlineData(false, true, true, 0)]
    [InlineData(true, true, true, 0)]
    [InlineData(true, false, true, 0)]
    [InlineData(false, false, true, 0)]
    [InlineData(true, true, false, 0)]
    [InlineData(true, false, false, 0)]
    [InlineData(false, true, true, -1)]
    public void The_trace_leaves_the_state_the_interpreter_does_and_calls_the_system_only_when_it_must(bool interruptsOn, bool cli, bool vouches, int entryCpl)
    {
        var (expected, interpreted) = Interpret(interruptsOn, cli);
        var (actual, jit) = RunTrace(interruptsOn, cli, vouches, entryCpl);

        Assert.Equal(expected.Slots, actual.Slots);
        Assert.Equal(expected.Sys.KernelGsBase, actual.Sys.KernelGsBase);
        Assert.Equal(expected.Sys.InterruptShadow, actual.Sys.InterruptShadow);
        Assert.Equal(expected.InstructionsRetired, actual.InstructionsRetired);
        // What the ops did, spelled out: the bases swapped twice, IF on at the end, and the shadow
        // open only when STI turned interrupts on.
        bool onBeforeSti = interruptsOn && !cli;
        Assert.Equal(0xffff_8000_2222_0000UL, actual[GuestReg.Rax]);
        Assert.Equal(0x1111_0000UL, actual[GuestReg.GsBase]);
        Assert.Equal(0xffff_8000_2222_0000UL, actual.Sys.KernelGsBase);
        Assert.NotEqual(0UL, actual[GuestReg.FlagsOther] & Rflags.IF);
        Assert.Equal(0x1111_0000UL + (Rflags.Reserved1 | (onBeforeSti ? Rflags.IF : 0)), actual[GuestReg.Rbx]);
        Assert.Equal(!onBeforeSti, actual.Sys.InterruptShadow);

        Assert.Equal(cli ? [SystemOp.Swapgs, SystemOp.Cli, SystemOp.Swapgs, SystemOp.Sti] : [SystemOp.Swapgs, SystemOp.Swapgs, SystemOp.Sti],
            interpreted.Calls);
        bool inline = vouches && entryCpl == 0;
        Assert.Equal(inline ? [] : interpreted.Calls, jit.Calls);
    }
}
