using Drk.Dispatcher.IR;
using Drk.Dispatcher.Jit;
using Drk.Dispatcher.Tests.Execution;
using Drk.Hv.Cpu;
using static Drk.Dispatcher.Tests.Jit.TracePath;

namespace Drk.Dispatcher.Tests.Jit;

/// <summary>
/// Guest slots kept in locals across a trace's blocks (<see cref="TraceSlotCache"/>), against the
/// interpreter running the same blocks one by one: where a local may not be trusted (a call that
/// writes slots itself), and where a jump must load the slots the next block expects (a block that
/// reads what the one before did not touch, a side exit taken before its block touched a slot).
/// </summary>
public sealed class TraceSlotCacheTests
{
    [Fact]
    public void A_system_instruction_that_writes_a_register_itself_is_seen_by_the_reads_after_it()
    {
        // B reads RAX (cached), then a system instruction writes RAX in the state, then B reads it again.
        using var twin = TierTwin.Mmu(paging: true);
        foreach (var side in new[] { twin.Interp, twin.Jit }) side.System.Effect = s => s[GuestReg.Rax] = 0x77;
        var a = IrTestKit.Block(A, 1, ir =>
        {
            ir.PutReg(GuestReg.Rax, ir.Add(ir.GetReg(GuestReg.Rax), ir.Const64(1)));
            ir.Exit(B);
        });
        var b = IrTestKit.Block(B, 3, ir =>
        {
            ir.PutReg(GuestReg.Rcx, ir.GetReg(GuestReg.Rax));
            ir.Guest = 1;
            ir.System(SystemOp.Rdtsc, IrValue.None, IrValue.None);
            ir.Guest = 2;
            ir.PutReg(GuestReg.Rbx, ir.GetReg(GuestReg.Rax));
            ir.Exit(Out);
        });
        RunBoth(twin, [a, b], s => s[GuestReg.Rax] = 5);
        Assert.Equal(0x77UL, twin.Jit.State[GuestReg.Rbx]);
        Assert.Equal(6UL, twin.Jit.State[GuestReg.Rcx]);
    }

    [Fact]
    public void A_jump_loads_the_registers_the_next_block_reads_that_the_jumping_block_did_not_touch()
    {
        var a = IrTestKit.Block(A, 1, ir =>
        {
            ir.PutReg(GuestReg.Rbx, ir.Add(ir.GetReg(GuestReg.Rbx), ir.Const64(1)));
            ir.Exit(B);
        });
        var b = IrTestKit.Block(B, 1, ir =>
        {
            ir.PutReg(GuestReg.Rcx, ir.Add(ir.GetReg(GuestReg.Rdx), ir.GetReg(GuestReg.Rbx)));
            ir.Exit(Out);
        });
        using var twin = TierTwin.Mmu(paging: true);
        RunBoth(twin, [a, b], s => { s[GuestReg.Rbx] = 10; s[GuestReg.Rdx] = 0x1234; });
        Assert.Equal(0x1234UL + 11, twin.Jit.State[GuestReg.Rcx]);
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(9UL)]
    public void A_side_exit_into_the_trace_carries_only_what_its_block_had_touched_by_then(ulong rax)
    {
        // A leaves for C early when RAX < 5, before it writes RDX; C reads RDX. On that path RDX's
        // local was never set, though it is set at A's end.
        var a = IrTestKit.Block(A, 2, ir =>
        {
            var value = ir.GetReg(GuestReg.Rax);
            ir.ExitIf(ir.Compare(IrOpcode.CmpLtU, value, ir.Const64(5)), C);
            ir.Guest = 1;
            ir.PutReg(GuestReg.Rdx, ir.Const64(0xd0d0));
            ir.Exit(B);
        });
        var b = IrTestKit.Block(B, 1, ir =>
        {
            ir.PutReg(GuestReg.Rsi, ir.GetReg(GuestReg.Rdx));
            ir.Exit(C);
        });
        var c = IrTestKit.Block(C, 1, ir =>
        {
            ir.PutReg(GuestReg.Rcx, ir.GetReg(GuestReg.Rdx));
            ir.Exit(Out);
        });
        using var twin = TierTwin.Mmu(paging: true);
        RunBoth(twin, [a, b, c], s => { s[GuestReg.Rax] = rax; s[GuestReg.Rdx] = 0x5151; });
        Assert.Equal(rax < 5 ? 0x5151UL : 0xd0d0UL, twin.Jit.State[GuestReg.Rcx]);
    }

    /// <summary>Compiles <paramref name="blocks"/> as a trace, runs it and the interpreter (block by block, following exits) from the same state, and compares.</summary>
    private static void RunBoth(TierTwin twin, IrBlock[] blocks, Action<VcpuState> setup)
    {
        var trace = twin.Jit.Compiler.CompileTrace(blocks, entryCpl: 0);
        twin.Jit.Runtime.Budget.StopRetired = ulong.MaxValue;
        twin.SetState(s =>
        {
            s.Slots.AsSpan().Clear();
            setup(s);
            s.Rip = blocks[0].StartRip;
        });
        var expected = twin.InterpretPath(blocks);
        var actual = trace.Execute(twin.Jit.State);
        TierTwin.AssertSameResult(expected, actual, "trace");
        twin.AssertSameState("trace");
        Assert.Equal(Out, twin.Jit.State.Rip);
    }
}
