using Drk.Dispatcher.Execution;
using Drk.Dispatcher.Jit;
using Drk.Dispatcher.Tests.Machine;
using Drk.Dispatcher.Tests.Tools;
using Drk.Dispatcher.Tools;
using Drk.Hv;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Drk.Dispatcher.Tests.CodeCache;

/// <summary>
/// REP STOS and REP MOVS done in bulk, a page at a time (<c>BulkString</c>), inside traces and, with traces
/// off, by the dispatch loop before the block runs alone: the memory, registers, retired count and
/// interrupt points of the interpreter, which runs one iteration per block, whatever the element
/// size, alignment, overlap, direction, page crossings, code pages written and timer interrupts in
/// the middle.
/// </summary>
public sealed partial class CodeCacheTests
{
    private const ulong Buffers = Data + 0x1_0000, BuffersEnd = Data + 0x4_0000;

    /// <summary>Emits <paramref name="body"/> <paramref name="rounds"/> times, the round number in r13 (the body must leave r13 and r15 alone).</summary>
    private static void Rounds(Assembler a, int rounds, Action body)
    {
        var top = a.CreateLabel();
        a.xor(r13d, r13d);
        a.Label(ref top);
        body();
        a.inc(r13d);
        a.cmp(r13d, rounds);
        a.jb(top);
    }

    /// <summary>Stores a rotate-xor hash of the qwords from <see cref="Buffers"/> to <see cref="BuffersEnd"/> in word <paramref name="word"/> (clobbers rax, rcx, rsi, rdx).</summary>
    private static void HashBuffers(Assembler a, int word) => HashQwords(a, Buffers, (int)((BuffersEnd - Buffers) / 8), word);

    /// <summary>Stores a rotate-xor hash of <paramref name="count"/> qwords from <paramref name="start"/> in word <paramref name="word"/> (clobbers rax, rcx, rsi, rdx).</summary>
    private static void HashQwords(Assembler a, ulong start, int count, int word)
    {
        var top = a.CreateLabel();
        a.xor(eax, eax);
        a.mov(rsi, start);
        a.mov(ecx, count);
        a.Label(ref top);
        a.rol(rax, 7);
        a.xor(rax, __qword_ptr[rsi]);
        a.add(rsi, 8);
        a.dec(ecx);
        a.jnz(top);
        StoreResult(a, rax, word);
    }

    /// <summary>The programs' end: rbx to word 4, the buffers' hash to word 5, exit with status 4.</summary>
    private static void EndWithResults(Assembler a)
    {
        StoreResult(a, rbx, 4);
        HashBuffers(a, 5);
        TestMachine.Exit(a, 4);
    }

    /// <summary>REP STOSB of <paramref name="count"/> bytes of the round number from <see cref="Buffers"/> + the round, then the string registers mixed into rbx.</summary>
    private static void StosbFromRound(Assembler a, int count)
    {
        a.mov(rdi, Buffers);
        a.add(rdi, r13);
        a.mov(ecx, count);
        a.mov(eax, r13d);
        a.rep.stosb();
        MixStringRegisters(a);
    }

    /// <summary>rbx = rbx * 31 + each of the string registers (what the iterations left in them).</summary>
    private static void MixStringRegisters(Assembler a)
    {
        foreach (var r in new[] { rcx, rsi, rdi })
        {
            a.imul(rbx, rbx, 31);
            a.add(rbx, r);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Rep_stos_and_movs_run_a_page_at_a_time_and_leave_the_interpreters_memory_registers_and_count(bool traces)
    {
        void Setup(TestMachine m) => m.Load(TestMachine.CodeBase, a =>
        {
            a.xor(ebx, ebx);
            a.xor(esi, esi);
            Rounds(a, 40, () =>
            {
                // STOSB from an odd start over several pages, the value the round.
                a.imul(r14, r13, 37);
                a.mov(rdi, Buffers);
                a.add(rdi, r14);
                a.imul(ecx, r13d, 211);
                a.add(ecx, 3000);
                a.mov(eax, r13d);
                a.rep.stosb();
                MixStringRegisters(a);
                // STOSQ, unaligned, a value whose bytes differ.
                a.mov(rdi, Buffers + 0x1_0003);
                a.lea(rdi, __[rdi + r13 * 8]);
                a.mov(rax, 0x0102_0304_0506_0708);
                a.imul(rax, r13);
                a.lea(ecx, __[r13 * 4 + 700]);
                a.rep.stosq();
                MixStringRegisters(a);
                // STOSW and STOSD with the counts the block does alone: 0 and 1.
                a.xor(ecx, ecx);
                a.rep.stosw();
                a.mov(ecx, 1);
                a.rep.stosd();
                MixStringRegisters(a);
                // MOVSB from the STOSB area to another, not overlapping, crossing pages on both sides.
                a.mov(rsi, Buffers);
                a.add(rsi, r13);
                a.mov(rdi, Buffers + 0x2_0000);
                a.imul(r14, r13, 3);
                a.add(rdi, r14);
                a.imul(ecx, r13d, 101);
                a.add(ecx, 5000);
                a.rep.movsb();
                MixStringRegisters(a);
                // MOVSQ, source and destination each misaligned differently.
                a.mov(rsi, Buffers + 0x1_0004);
                a.mov(rdi, Buffers + 0x2_8001);
                a.lea(rdi, __[rdi + r13 * 8]);
                a.lea(ecx, __[r13 + 600]);
                a.rep.movsq();
                MixStringRegisters(a);
            });
            EndWithResults(a);
        });

        var (interp, jit) = RunBoth(Setup, traces: traces);

        Assert.NotEqual(0UL, interp.Words[5]);
        Assert.Equal(0, interp.BulkIterations);
        // Nearly every iteration of the 40 rounds (about 640,000) was done in bulk.
        Assert.True(jit.BulkIterations > 500_000, $"{jit.BulkIterations} iterations in bulk");
        // Without traces the dispatch loop did them, before each run of the block alone.
        if (!traces) Assert.Equal(0, jit.Stats.TraceRuns);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Overlapping_and_backward_rep_movs_and_stos_copy_element_by_element_as_the_interpreter_does(bool traces)
    {
        void Setup(TestMachine m) => m.Load(TestMachine.CodeBase, a =>
        {
            // A pattern to copy around.
            a.mov(rdi, Buffers);
            a.mov(rax, 0x1122_3344_5566_7788);
            a.mov(ecx, 0x1000);
            a.rep.stosq();
            a.xor(ebx, ebx);
            Rounds(a, 30, () =>
            {
                // Forward with the destination inside the source: each element copies an earlier copy.
                a.mov(rsi, Buffers + 0x100);
                a.add(rsi, r13);
                a.lea(rdi, __[rsi + r13 + 1]);
                a.mov(ecx, 5000);
                a.rep.movsb();
                MixStringRegisters(a);
                // Forward with the destination below the source: a plain move.
                a.mov(rsi, Buffers + 0x6000);
                a.lea(rdi, __[rsi - 0x93]);
                a.sub(rdi, r13);
                a.mov(ecx, 6000);
                a.rep.movsb();
                MixStringRegisters(a);
                // Backward (DF set), copying and storing.
                a.std();
                a.mov(rsi, Buffers + 0xA000);
                a.lea(rdi, __[rsi + 7]);
                a.lea(ecx, __[r13 + 3000]);
                a.rep.movsb();
                MixStringRegisters(a);
                a.mov(rdi, Buffers + 0xF000);
                a.mov(eax, r13d);
                a.mov(ecx, 6000);
                a.rep.stosw();
                a.cld();
                MixStringRegisters(a);
            });
            EndWithResults(a);
        });

        var (interp, jit) = RunBoth(Setup, traces: traces);

        Assert.NotEqual(0UL, interp.Words[5]);
        // The plain forward moves and the first fill went in bulk; the others element by element.
        Assert.True(jit.BulkIterations > 100_000, $"{jit.BulkIterations} iterations in bulk");
        Assert.True(jit.BulkIterations < 300_000, $"{jit.BulkIterations} iterations in bulk");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Rep_stos_and_movs_over_pages_not_yet_in_the_tlb_walk_them_as_the_interpreter_does_and_stay_in_bulk(bool traces)
    {
        // 4 KiB pages whose entries have neither the accessed nor the dirty bit, one of them not
        // present (the page-fault handler maps it, as demand paging would): each page's first
        // element misses the soft TLB. The bulk paths walk such a page themselves (the walk the
        // block's own access would make next) instead of leaving the element to the block, so the
        // copies stay in bulk; the page tables' accessed and dirty bits, the fault's RCX and CR2
        // and the memory must be the interpreter's.
        const ulong linear = 0x4000_0000, frames = 0x30_0000, table = Data + 0x5_0000;
        const int pages = 96, absent = 20;
        const ulong faultHandler = TestMachine.CodeBase + 0x3000;
        void Setup(TestMachine m)
        {
            for (int i = 0; i < pages; i++)
                m.WritePhysical(table + (ulong)i * 8, i == absent ? 0 : frames + (ulong)i * 0x1000 | 3);
            // The second GiB's first 2 MiB through this table (the loader maps it with a 2 MiB page).
            m.WritePhysical(m.Cr3 + 0x3000, table | 3);
            for (ulong at = frames + 40 * 0x1000; at < frames + 60 * 0x1000; at += 8)
                m.WritePhysical(at, at * 0x9E37_79B9_7F4A_7C15);
            m.Load(faultHandler, a =>
            {
                a.push(rax);
                a.push(rdx);
                a.mov(rdx, Data + 0x8000);
                a.inc(__qword_ptr[rdx + 8]);
                a.mov(rax, __qword_ptr[rdx + 16]);
                a.imul(rax, rax, 31);
                a.add(rax, rcx);
                a.mov(__qword_ptr[rdx + 16], rax);
                a.mov(rax, cr2);
                a.add(__qword_ptr[rdx + 24], rax);
                // Map the page: its entry gets frame + index * 4 KiB, present and writable.
                a.sub(rax, (int)linear);
                a.shr(rax, 12);
                a.mov(rdx, table);
                a.lea(rdx, __[rdx + rax * 8]);
                a.shl(rax, 12);
                a.add(rax, (int)frames | 3);
                a.mov(__qword_ptr[rdx], rax);
                a.mov(rax, cr2);
                a.invlpg(__[rax]);
                a.pop(rdx);
                a.pop(rax);
                a.add(rsp, 8);
                a.iretq();
            });
            m.SetGate(14, faultHandler);
            m.Load(TestMachine.CodeBase, a =>
            {
                a.xor(ebx, ebx);
                // STOSB over pages 0-39, through the absent one.
                a.mov(rdi, linear + 0x123);
                a.mov(ecx, 40 * 0x1000 - 0x200);
                a.mov(eax, 0x5A);
                a.rep.stosb();
                MixStringRegisters(a);
                // MOVSQ from pages 40-59 (read only so far by nothing) to pages 64-83, unaligned.
                a.mov(rsi, linear + 40 * 0x1000 + 0x10);
                a.mov(rdi, linear + 64 * 0x1000 + 0x7);
                a.mov(ecx, (20 * 0x1000 - 0x20) / 8);
                a.rep.movsq();
                MixStringRegisters(a);
                StoreResult(a, rbx, 4);
                // The entries' accessed and dirty bits as the copies left them, then the data
                // through the new mapping (which reads every page).
                HashQwords(a, table, pages, 6);
                a.mov(rax, __qword_ptr[m.Cr3 + 0x3000]);
                StoreResult(a, rax, 7);
                HashQwords(a, linear, pages * 0x1000 / 8, 5);
                TestMachine.Exit(a, 4);
            });
        }

        var (interp, jit) = RunBoth(Setup, traces: traces);

        Assert.Equal(1UL, interp.Words[1]);
        Assert.Equal(linear + absent * 0x1000, interp.Words[3]);
        const ulong dirty = 0x40, accessed = 0x20;
        using (var m = new TestMachine())
        {
            Setup(m);
            m.Start();
            Assert.Equal(MachineStopReason.DebugExit, m.Run().Reason);
            for (int i = 0; i < pages; i++)
            {
                ulong bits = m.ReadPhysical(table + (ulong)i * 8) & (dirty | accessed);
                ulong expected = i < 40 || (i >= 64 && i < 84) ? dirty | accessed : accessed;
                Assert.True(bits == expected, $"page {i}: accessed and dirty bits {bits:X} on the default tier, {expected:X} expected");
            }
        }
        // 173,564 iterations in all; the block's own are one after each helper call. Compiled code
        // resumes in the interpreter at its first access to each page it has not touched yet: 42
        // times here (code, stack, the fault, the 16 pages the hash loop reads first), 102 when the
        // bulk paths left each copied page's first element to the block.
        Assert.True(jit.BulkIterations > 173_000, $"{jit.BulkIterations} iterations in bulk");
        Assert.True(jit.InterpreterResumes < 60, $"{jit.InterpreterResumes} blocks resumed in the interpreter");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Timer_interrupts_land_at_the_same_iteration_of_a_rep_stos_done_in_bulk(bool traces)
    {
        // The handler sums the interrupted RIPs and rcx at each interrupt: an iteration done in
        // bulk past the point where the interpreter takes the interrupt changes both.
        void Setup(TestMachine m)
        {
            LoadTimerHandler(m);
            m.Load(TestMachine.CodeBase, a =>
            {
                StartPeriodicTimer(a, 1_013);
                a.xor(ebx, ebx);
                Rounds(a, 20, () => StosbFromRound(a, 60_000));
                EndWithResults(a);
            });
            m.SetGate(0x40, Handler);
        }

        var (interp, jit) = RunBoth(Setup, traces: traces);

        Assert.True(interp.Words[1] > 1_000, $"{interp.Words[1]} interrupts");
        Assert.True(jit.BulkIterations > 1_000_000, $"{jit.BulkIterations} iterations in bulk");
        if (!traces) Assert.Equal(0, jit.Stats.TraceRuns);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_rep_movs_over_translated_code_invalidates_it_and_the_new_code_runs_as_on_the_interpreter(bool traces)
    {
        // The copy covers a hot function's page and the start of the next: the code page's writes
        // are watched (its TLB entry does not take writes), so the bulk path leaves them to the
        // block and the MMU, which drop the function's translations; the rest goes in bulk.
        const ulong function = TestMachine.CodeBase + 0x1000;
        const ulong replacement = Buffers + 0x2_0000;
        void Setup(TestMachine m)
        {
            m.Load(function, a =>
            {
                a.add(rbx, r8);
                a.ret();
            });
            m.Load(replacement, a =>
            {
                a.imul(rbx, rbx, 3);
                a.xor(rbx, r8);
                a.ret();
            });
            m.Load(TestMachine.CodeBase, a =>
            {
                void CallLoop()
                {
                    var top = a.CreateLabel();
                    a.mov(r8d, 10_000);
                    a.Label(ref top);
                    a.call(function);
                    a.dec(r8d);
                    a.jnz(top);
                }
                a.xor(ebx, ebx);
                CallLoop();
                a.mov(rsi, replacement);
                a.mov(rdi, function);
                a.mov(ecx, 0x1100);
                a.rep.movsb();
                MixStringRegisters(a);
                CallLoop();
                StoreResult(a, rbx, 4);
                TestMachine.Exit(a, 4);
            });
        }

        var (interp, jit) = RunBoth(Setup, traces: traces);

        Assert.True(jit.Cache.Invalidated >= 1);
        Assert.True(jit.BulkIterations > 0, $"{jit.BulkIterations} iterations in bulk");
    }

    [Theory]
    [InlineData(ExecutionTier.Interpreter, true)]
    [InlineData(ExecutionTier.Jit, true)]
    [InlineData(ExecutionTier.Jit, false)]
    [InlineData(ExecutionTier.Auto, true)]
    public void Rep_stos_and_movs_counted_by_a_tool_go_in_bulk_and_the_count_stays_the_retired_count(ExecutionTier tier, bool traces)
    {
        // A tool that counts retired instructions inline (inscount's way) in every block: the REP
        // blocks carry counter adds, which the bulk paths advance by the iterations they do, and a
        // timer interrupts the copies so stops fall inside them.
        int counter = -1;
        var tool = new ProbeTool(context =>
        {
            counter = context.AllocateCounter("retired");
            context.AddBlockPass(block => block.CountRetiredInstructions(counter));
        });
        using var m = new TestMachine(options: new MachineRunOptions { Tier = tier, Traces = traces, VerifyIr = true, MaxInstructions = 50_000_000, Tools = new ToolHost([tool]) });
        LoadTimerHandler(m);
        m.Load(TestMachine.CodeBase, a =>
        {
            StartPeriodicTimer(a, 997);
            a.xor(ebx, ebx);
            Rounds(a, 30, () =>
            {
                StosbFromRound(a, 20_000);
                a.mov(rsi, Buffers);
                a.mov(rdi, Buffers + 0x2_0000);
                a.lea(ecx, __[r13 + 1500]);
                a.rep.movsq();
                MixStringRegisters(a);
            });
            EndWithResults(a);
        });
        m.SetGate(0x40, Handler);
        m.Start();

        var result = m.Run();

        Assert.Equal(MachineStopReason.DebugExit, result.Reason);
        // Everything here runs at CPL 0 and is instrumented: the count is every retired instruction.
        Assert.Equal((long)result.InstructionsRetired, m.BspDispatcher.Interpreter.Counters[counter]);
        long bulk = m.BspDispatcher.Jit?.Runtime.Budget.BulkIterations ?? 0;
        if (tier == ExecutionTier.Interpreter) Assert.Equal(0, bulk);
        else Assert.True(bulk > 500_000, $"{bulk} iterations in bulk");
    }

    [Fact]
    public void A_rep_block_whose_counter_add_depends_on_the_data_is_not_done_in_bulk()
    {
        // A tool that adds RCX before every REP STOSB: per iteration a different amount, which the
        // bulk paths cannot sum, so each iteration runs, and the sums agree with the interpreter's.
        (long Sum, long Bulk) Run(ExecutionTier tier)
        {
            int counter = -1;
            var tool = new ProbeTool(context =>
            {
                counter = context.AllocateCounter("rcx");
                context.AddBlockPass(block =>
                {
                    foreach (var insn in block.Instructions)
                    {
                        if (insn.Mnemonic != Iced.Intel.Mnemonic.Stosb) continue;
                        var ir = block.InsertBefore(insn);
                        ir.CounterAdd(counter, ir.GetReg(Drk.Hv.Cpu.GuestReg.Rcx));
                    }
                });
            });
            using var m = new TestMachine(options: new MachineRunOptions { Tier = tier, VerifyIr = true, MaxInstructions = 50_000_000, Tools = new ToolHost([tool]) });
            m.Load(TestMachine.CodeBase, a =>
            {
                a.xor(ebx, ebx);
                Rounds(a, 20, () =>
                {
                    a.mov(rdi, Buffers);
                    a.mov(ecx, 5_000);
                    a.rep.stosb();
                });
                EndWithResults(a);
            });
            m.Start();
            Assert.Equal(MachineStopReason.DebugExit, m.Run().Reason);
            return (m.BspDispatcher.Interpreter.Counters[counter], m.BspDispatcher.Jit?.Runtime.Budget.BulkIterations ?? 0);
        }

        var interp = Run(ExecutionTier.Interpreter);
        var jit = Run(ExecutionTier.Jit);

        Assert.Equal(20L * 5_000 * 5_001 / 2, interp.Sum);
        Assert.Equal(interp.Sum, jit.Sum);
        Assert.Equal(0, jit.Bulk);
    }
}
