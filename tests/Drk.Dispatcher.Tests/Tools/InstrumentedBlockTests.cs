using Drk.Dispatcher.IR;
using Drk.Dispatcher.Optimization;
using Drk.Dispatcher.Tools;
using Drk.Hv.Cpu;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Drk.Dispatcher.Tests.Tools;

/// <summary>
/// <see cref="InstrumentedBlock"/> on lowered guest code: where each insertion point runs (by
/// executing the instrumented block in both tiers with clean calls that record), the values
/// inserted code sees, flag liveness, and the verifier's view of instrumented blocks.
/// </summary>
public sealed class InstrumentedBlockTests
{
    private enum Point : ulong { Before = 1, BeforeAccess = 2, AfterAccess = 3, After = 4 }

    private static ulong Tag(int pass, Point point, int instruction, int access = 0) =>
        (uint)pass | (ulong)point << 4 | (uint)instruction << 8 | (uint)access << 16;

    private static string Name(ulong tag) =>
        $"pass {tag & 0xf} {(Point)(tag >> 4 & 0xf)} i{tag >> 8 & 0xff}" + ((Point)(tag >> 4 & 0xf) is Point.BeforeAccess or Point.AfterAccess ? $".{tag >> 16}" : "");

    /// <summary>Blocks with accesses next to each other (MOVS loads and stores back to back), read-modify-writes and implicit stack accesses.</summary>
    public static TheoryData<string> Blocks => new() { "loads, movs, rmw, push, jmp", "pop, call", "rep movsb", "jne not taken", "ret" };

    private static Action<Assembler> Code(string name) => name switch
    {
        "loads, movs, rmw, push, jmp" => a => { a.mov(rax, __qword_ptr[rsi]); a.movsb(); a.add(__qword_ptr[rbx + 8], rax); a.push(rax); a.jmp(ToolBlockKit.Elsewhere); },
        "pop, call" => a => { a.pop(rdx); a.push(__qword_ptr[rbx]); a.call(ToolBlockKit.Elsewhere); },
        "rep movsb" => a => { a.mov(edx, 7); a.rep.movsb(); },
        "jne not taken" => a => { a.cmp(rax, rax); a.jne(ToolBlockKit.Elsewhere); },
        "ret" => a => { a.mov(__qword_ptr[rsp], rbx); a.ret(); },
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Blocks))]
    public void Insertion_points_run_in_execution_order_and_two_passes_at_one_point_keep_registration_order(string name)
    {
        var view = ToolBlockKit.View(ToolBlockKit.Lower(Code(name)));
        using var twin = ToolBlockKit.NewTwin();
        var calls = new CallRecorder(twin);
        // Two passes, each inserting at every point, the second after the first (as ToolHost runs them).
        for (int pass = 0; pass < 2; pass++)
        {
            foreach (var insn in view.Instructions)
            {
                Call(view.InsertBefore(insn), calls, Tag(pass, Point.Before, insn.Index));
                for (int j = 0; j < insn.MemoryAccesses.Count; j++)
                {
                    Call(view.InsertBefore(insn.MemoryAccesses[j]), calls, Tag(pass, Point.BeforeAccess, insn.Index, j));
                    Call(view.InsertAfter(insn.MemoryAccesses[j]), calls, Tag(pass, Point.AfterAccess, insn.Index, j));
                }
                Call(view.InsertAfter(insn), calls, Tag(pass, Point.After, insn.Index));
            }
        }
        var expected = new List<ulong>();
        foreach (var insn in view.Instructions)
        {
            for (int pass = 0; pass < 2; pass++) expected.Add(Tag(pass, Point.Before, insn.Index));
            for (int j = 0; j < insn.MemoryAccesses.Count; j++)
            {
                for (int pass = 0; pass < 2; pass++) expected.Add(Tag(pass, Point.BeforeAccess, insn.Index, j));
                for (int pass = 0; pass < 2; pass++) expected.Add(Tag(pass, Point.AfterAccess, insn.Index, j));
            }
            for (int pass = 0; pass < 2; pass++) expected.Add(Tag(pass, Point.After, insn.Index));
        }
        var block = view.Finish();
        Assert.Empty(IrVerifier.Verify(block));
        ToolBlockKit.Reset(twin);

        twin.Run(block, name);

        var seen = calls.Same(name).Select(c => c.A).ToList();
        Assert.True(expected.SequenceEqual(seen),
            $"{name}: expected\n  {string.Join("\n  ", expected.Select(Name))}\nran\n  {string.Join("\n  ", seen.Select(Name))}\n{IrPrinter.Format(block)}");
    }

    private static void Call(IrBuilder ir, CallRecorder calls, ulong tag) =>
        ir.CleanCall(calls.Number, ir.Const64(tag), IrValue.None, IrValue.None, IrValue.None);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void After_a_conditional_branch_runs_on_the_fall_through_path_only(bool taken)
    {
        var view = ToolBlockKit.View(ToolBlockKit.Lower(a => { a.cmp(rax, rbx); a.je(ToolBlockKit.Elsewhere); }));
        using var twin = ToolBlockKit.NewTwin();
        var calls = new CallRecorder(twin);
        var branch = view.Instructions[1];
        Call(view.InsertBefore(branch), calls, 1);
        Call(view.InsertAfter(branch), calls, 2);
        var block = view.Finish();
        ToolBlockKit.Reset(twin, s => s[GuestReg.Rbx] = taken ? s[GuestReg.Rax] : 5);

        twin.Run(block, $"taken={taken}");

        Assert.Equal(taken ? [1UL] : [1UL, 2UL], calls.Same($"taken={taken}").Select(c => c.A));
        Assert.Equal(taken ? ToolBlockKit.Elsewhere : branch.NextRip, twin.Interp.State.Rip);
    }

    [Fact]
    public void Inserted_code_sees_each_access_s_address_before_it_and_the_loaded_value_after_it()
    {
        var view = ToolBlockKit.View(ToolBlockKit.Lower(a =>
        {
            a.mov(rax, __qword_ptr[rsi + 0x20]);
            a.mov(__dword_ptr[rdi + rcx * 4], eax);
            a.movzx(edx, __byte_ptr[rbx]);
            a.jmp(ToolBlockKit.Elsewhere);
        }));
        using var twin = ToolBlockKit.NewTwin(7);
        var calls = new CallRecorder(twin);
        foreach (var insn in view.Instructions)
        {
            foreach (var access in insn.MemoryAccesses)
            {
                var before = view.InsertBefore(access);
                before.CleanCall(calls.Number, before.Const64(0), access.Address, IrValue.None, IrValue.None);
                var after = view.InsertAfter(access);
                after.CleanCall(calls.Number, after.Const64(1), after.ZExt(IrType.I64, access.Value), IrValue.None, IrValue.None);
            }
        }
        var block = view.Finish();
        ToolBlockKit.Reset(twin);
        var s = twin.Interp.State;
        ulong si = s[GuestReg.Rsi], di = s[GuestReg.Rdi], cx = s[GuestReg.Rcx], bx = s[GuestReg.Rbx];
        var memory = twin.Interp.Memory;
        Assert.True(memory.Read(si + 0x20, 8, out ulong loaded, out _));
        Assert.True(memory.Read(bx, 1, out ulong byteAtRbx, out _));

        twin.Run(block, "values");

        Assert.Equal(
            [(0UL, si + 0x20), (1UL, loaded), (0UL, di + cx * 4), (1UL, loaded & 0xffff_ffff), (0UL, bx), (1UL, byteAtRbx)],
            calls.Same("values"));
    }

    [Fact]
    public void Flags_live_after_each_instruction_are_those_a_later_one_reads_before_writing_them()
    {
        var view = ToolBlockKit.View(ToolBlockKit.Lower(a =>
        {
            a.cmp(rax, rbx);     // everything it sets is overwritten by ADD before anyone reads it
            a.add(rax, rbx);     // its CF is read by ADC
            a.adc(rcx, 0);       // its CF reaches JC (MOV and INC leave CF alone)
            a.mov(edx, 1);
            a.inc(rdx);          // writes OF SF ZF AF PF, not CF
            a.jb(ToolBlockKit.Elsewhere);
        }));
        const RflagsBits arithmetic = RflagsBits.OF | RflagsBits.SF | RflagsBits.ZF | RflagsBits.AF | RflagsBits.CF | RflagsBits.PF;
        const RflagsBits atEnd = arithmetic | RflagsBits.DF;
        RflagsBits[] expected = [RflagsBits.DF, RflagsBits.CF | RflagsBits.DF, RflagsBits.CF | RflagsBits.DF, RflagsBits.CF | RflagsBits.DF, atEnd, atEnd];

        Assert.Equal(expected, view.Instructions.Select(i => i.FlagsLiveAfter));
        Assert.Equal(RflagsBits.CF, view.Instructions[2].FlagsRead);
        Assert.Equal(arithmetic & ~RflagsBits.CF, view.Instructions[4].FlagsWritten);
    }

    [Fact]
    public void The_view_describes_each_instruction_and_where_its_ir_lies()
    {
        var ir = ToolBlockKit.Lower(a => { a.xor(eax, eax); a.mov(__qword_ptr[rdi], rax); a.div(rcx); a.jmp(ToolBlockKit.Elsewhere); });
        var view = ToolBlockKit.View(ir);

        Assert.Equal([Mnemonic.Xor, Mnemonic.Mov, Mnemonic.Div, Mnemonic.Jmp], view.Instructions.Select(i => i.Mnemonic));
        Assert.Equal([false, true, true, false], view.Instructions.Select(i => i.MayFault));
        Assert.Equal([false, true, false, false], view.Instructions.Select(i => i.AccessesMemory));
        int next = 0;
        foreach (var insn in view.Instructions)
        {
            Assert.Equal(next, insn.FirstOp);
            for (int p = insn.FirstOp; p < insn.FirstOp + insn.OpCount; p++) Assert.Equal(insn.Index, ir.Ops[p].Guest);
            Assert.Equal(ir.Instructions[insn.Index].Rip, insn.Rip);
            next += insn.OpCount;
        }
        Assert.Equal(ir.Count, next);
        Assert.False(view.IsInstrumented);
        Assert.Same(ir, view.Finish());   // nothing inserted: the block runs as lowered
    }

    [Theory]
    [MemberData(nameof(Blocks))]
    public void The_verifier_accepts_blocks_instrumented_at_every_point_before_and_after_optimisation(string name)
    {
        var view = ToolBlockKit.View(ToolBlockKit.Lower(Code(name)));
        view.CountRetiredInstructions(0);
        foreach (var insn in view.Instructions)
        {
            var before = view.InsertBefore(insn);
            before.CleanCall(0, before.Const64(insn.Rip), IrValue.None, IrValue.None, IrValue.None);
            foreach (var access in insn.MemoryAccesses)
            {
                var at = view.InsertBefore(access);
                at.CounterAdd(1, at.Const64((ulong)access.Size));
                at.CleanCall(0, access.Address, at.Const64((ulong)access.Kind), IrValue.None, IrValue.None);
                var after = view.InsertAfter(access);
                after.CleanCall(0, after.ZExt(IrType.I64, access.Value), IrValue.None, IrValue.None, IrValue.None);
            }
            var end = view.InsertAfter(insn);
            end.CounterAdd(2, end.Const64(1));
        }
        var block = view.Finish();

        Assert.True(view.IsInstrumented);
        var errors = IrVerifier.Verify(block);
        Assert.True(errors.Count == 0, string.Join("\n", errors) + "\n" + IrPrinter.Format(block));
        new Optimizer().Optimize(block);
        errors = IrVerifier.Verify(block);
        Assert.True(errors.Count == 0, string.Join("\n", errors) + "\n" + IrPrinter.Format(block));
    }

    [Theory]
    [InlineData("PutReg")]
    [InlineData("Store")]
    [InlineData("Load")]
    [InlineData("Exit")]
    [InlineData("Raise")]
    public void The_verifier_rejects_inserted_code_that_touches_guest_state_or_leaves_the_block(string what)
    {
        var view = ToolBlockKit.View(ToolBlockKit.Lower(a => { a.mov(rax, rbx); a.jmp(ToolBlockKit.Elsewhere); }));
        var ir = view.InsertBefore(view.Instructions[0]);
        switch (what)
        {
            case "PutReg": ir.PutReg(GuestReg.Rcx, ir.Const64(1)); break;
            case "Store": ir.Store(ir.Const64(ToolBlockKit.DataBase), ir.Const64(1)); break;
            case "Load": ir.Load(IrType.I64, ir.Const64(ToolBlockKit.DataBase)); break;
            case "Exit": ir.ExitIf(ir.Compare(IrOpcode.CmpEq, ir.Const64(1), ir.Const64(1)), ToolBlockKit.Elsewhere); break;
            case "Raise": ir.Raise(ExceptionVector.InvalidOpcode); break;
        }
        var block = view.Finish();

        Assert.NotEmpty(IrVerifier.Verify(block));
    }
}
