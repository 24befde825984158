using Drk.Dispatcher.Execution;
using Drk.Dispatcher.IR;
using Drk.Dispatcher.Jit;
using Drk.Dispatcher.Tests.Execution;
using Drk.Hv.Cpu;

namespace Drk.Dispatcher.Tests.Jit;

/// <summary>
/// A compiled trace entered at a later block than its head (<see cref="CompiledBlock.RunFrom"/>),
/// as the dispatcher enters one to run a block of it that has no trace of its own: against the
/// interpreter running the same blocks one by one from there.
/// </summary>
public sealed class TraceSideEntryTests
{
    private const ulong A = IrTestKit.CodeBase, B = IrTestKit.CodeBase + 0x40, C = IrTestKit.CodeBase + 0x80, Out = 0x5000;

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
        var expected = Interpret(twin, blocks, section);
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
        Interpret(twin, blocks, 1);
        trace.RunFrom(twin.Jit.State, 1);
        twin.AssertSameState("entered at B");

        twin.SetState(s => s[GuestReg.Rbx] = 7);
        var expected = Interpret(twin, blocks, 0);
        var actual = trace.Execute(twin.Jit.State);
        TierTwin.AssertSameResult(expected, actual, "entered at the head next");
        twin.AssertSameState("entered at the head next");
    }

    /// <summary>Runs <paramref name="blocks"/> on the interpreter from block <paramref name="first"/>, following exits by RIP until one leaves them.</summary>
    private static BlockResult Interpret(TierTwin twin, IrBlock[] blocks, int first)
    {
        var block = blocks[first];
        while (true)
        {
            var result = twin.Interp.Interpreter.Execute(block, twin.Interp.State);
            var next = Array.Find(blocks, b => b.StartRip == twin.Interp.State.Rip);
            if (result.End != BlockEnd.Exit || next is null) return result;
            block = next;
        }
    }

    private static IrBlock[] Loop()
    {
        var (a, ir) = IrTestKit.NewBlock(1, A);
        ir.PutReg(GuestReg.Rbx, ir.Add(ir.GetReg(GuestReg.Rbx), ir.Const64(1)));
        ir.Exit(B);
        var (b, ir2) = IrTestKit.NewBlock(1, B);
        ir2.PutReg(GuestReg.Rbx, ir2.Mul(ir2.GetReg(GuestReg.Rbx), ir2.Const64(3)));
        ir2.Exit(C);
        var (c, ir3) = IrTestKit.NewBlock(2, C);
        var rbx = ir3.GetReg(GuestReg.Rbx);
        ir3.PutReg(GuestReg.Rcx, rbx);
        ir3.Guest = 1;
        ir3.ExitIf(ir3.Compare(IrOpcode.CmpLtU, rbx, ir3.Const64(1000)), A);
        ir3.Exit(Out);
        foreach (var block in new[] { a, b, c }) IrVerifier.ThrowIfInvalid(block, "test");
        return [a, b, c];
    }
}
