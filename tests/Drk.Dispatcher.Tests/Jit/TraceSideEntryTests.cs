using Drk.Dispatcher.IR;
using Drk.Dispatcher.Jit;
using Drk.Dispatcher.Tests.Execution;
using Drk.Hv.Cpu;
using static Drk.Dispatcher.Tests.Jit.TracePath;

namespace Drk.Dispatcher.Tests.Jit;

/// <summary>
/// A compiled trace entered at a later block than its head (<see cref="CompiledBlock.RunFrom"/>),
/// as the dispatcher enters one to run a block of it that has no trace of its own: against the
/// interpreter running the same blocks one by one from there.
/// </summary>
public sealed class TraceSideEntryTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void A_trace_entered_at_any_block_runs_on_from_there_as_the_interpreter_does(int section)
    {
        // A adds 1 to RBX, B triples it, C copies it to RCX and loops back to A while it is below
        // 1000: entered at B, the first round skips A's increment.
        using var twin = TierTwin.Mmu(paging: true);
        var blocks = Loop();
        var trace = twin.Jit.Compiler.CompileTrace(blocks, entryCpl: 0);
        twin.Jit.Runtime.Budget.StopRetired = ulong.MaxValue;
        twin.SetState(s =>
        {
            s[GuestReg.Rbx] = 2;
            s.Rip = blocks[section].StartRip;
        });
        var expected = twin.InterpretPath(blocks, section);
        var actual = section == 0 ? trace.Execute(twin.Jit.State) : trace.RunFrom(twin.Jit.State, section);
        TierTwin.AssertSameResult(expected, actual, $"from block {section}");
        twin.AssertSameState($"from block {section}");
        Assert.Equal(Out, twin.Jit.State.Rip);
        Assert.Equal(2, trace.ExitSection);
        Assert.Equal(0, twin.Jit.Runtime.Budget.EntrySection);
    }

    [Fact]
    public void The_entry_block_is_read_once_so_the_next_run_starts_at_the_head()
    {
        using var twin = TierTwin.Mmu(paging: true);
        var blocks = Loop();
        var trace = twin.Jit.Compiler.CompileTrace(blocks, entryCpl: 0);
        twin.Jit.Runtime.Budget.StopRetired = ulong.MaxValue;
        twin.SetState(s => s[GuestReg.Rbx] = 5);
        twin.InterpretPath(blocks, 1);
        trace.RunFrom(twin.Jit.State, 1);
        twin.AssertSameState("entered at B");

        twin.SetState(s => s[GuestReg.Rbx] = 7);
        var expected = twin.InterpretPath(blocks);
        var actual = trace.Execute(twin.Jit.State);
        TierTwin.AssertSameResult(expected, actual, "entered at the head next");
        twin.AssertSameState("entered at the head next");
    }

    private static IrBlock[] Loop() =>
    [
        IrTestKit.Block(A, 1, ir =>
        {
            ir.PutReg(GuestReg.Rbx, ir.Add(ir.GetReg(GuestReg.Rbx), ir.Const64(1)));
            ir.Exit(B);
        }),
        IrTestKit.Block(B, 1, ir =>
        {
            ir.PutReg(GuestReg.Rbx, ir.Mul(ir.GetReg(GuestReg.Rbx), ir.Const64(3)));
            ir.Exit(C);
        }),
        IrTestKit.Block(C, 2, ir =>
        {
            var rbx = ir.GetReg(GuestReg.Rbx);
            ir.PutReg(GuestReg.Rcx, rbx);
            ir.Guest = 1;
            ir.ExitIf(ir.Compare(IrOpcode.CmpLtU, rbx, ir.Const64(1000)), A);
            ir.Exit(Out);
        }),
    ];
}
