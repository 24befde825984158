using Drk.Dispatcher.Execution;
using Drk.Dispatcher.Jit;
using Drk.Dispatcher.Tests.Machine;
using Drk.Hv;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Drk.Dispatcher.Tests.CodeCache;

/// <summary>
/// The code cache's linking, indirect-branch table, traces, invalidation of linked and traced code,
/// the size limit, and faults and interrupts inside traces, on hand-assembled programs. The oracle
/// is the interpreter run block by block (<see cref="VcpuDispatcher.RunBlock"/> semantics): every
/// program runs on each tier and must end with the same status, retired count and memory.
/// </summary>
public sealed partial class CodeCacheTests
{
    private const ulong Data = TestMachine.DataBase;
    private const ulong Apic = TestMachine.ApicBase;
    private const ulong Handler = TestMachine.CodeBase + 0x800;

    /// <summary>What a run left: how it stopped, the retired count, and the first data words.</summary>
    private sealed record Outcome(MachineStopReason Reason, int Status, ulong Retired, ulong[] Words, DispatchStatistics Stats,
        IndirectBranchTable Ibl, FragmentCache Cache, JitStatistics? Jit, long BulkIterations, long InterpreterResumes);

    private static Outcome Run(ExecutionTier tier, Action<TestMachine> setup, long cacheSize = 0, int words = 8, ulong quantum = MachineRunOptions.DefaultQuantum, bool traces = true)
    {
        using var m = new TestMachine(options: new MachineRunOptions { Tier = tier, CacheSize = cacheSize, VerifyIr = true, MaxInstructions = 50_000_000, Quantum = quantum, Traces = traces });
        setup(m);
        m.Start();
        var result = m.Run();
        var w = new ulong[words];
        for (int i = 0; i < words; i++) w[i] = m.ReadPhysical(Data + 0x8000 + (ulong)i * 8);
        var d = m.BspDispatcher;
        return new Outcome(result.Reason, result.ExitStatus, result.InstructionsRetired, w, d.Statistics, d.Ibl, d.Cache, d.Jit?.Statistics, d.Jit?.Runtime.Budget.BulkIterations ?? 0, d.Jit?.Runtime.InterpreterResumes ?? 0);
    }

    /// <summary>Runs on the interpreter and on the JIT tier (every block compiled, traces at once unless <paramref name="traces"/> is false); both must agree.</summary>
    private static (Outcome Interp, Outcome Jit) RunBoth(Action<TestMachine> setup, long cacheSize = 0, bool traces = true)
    {
        var interp = Run(ExecutionTier.Interpreter, setup, cacheSize);
        var jit = Run(ExecutionTier.Jit, setup, cacheSize, traces: traces);
        Assert.Equal(MachineStopReason.DebugExit, interp.Reason);
        Assert.Equal(interp.Reason, jit.Reason);
        Assert.Equal(interp.Status, jit.Status);
        Assert.Equal(interp.Retired, jit.Retired);
        Assert.Equal(interp.Words, jit.Words);
        return (interp, jit);
    }

    /// <summary>A loop of <paramref name="iterations"/> with a data-dependent branch inside (three blocks); rbx accumulates.</summary>
    private static void BranchyLoop(Assembler a, int iterations)
    {
        var top = a.CreateLabel();
        var odd = a.CreateLabel();
        var next = a.CreateLabel();
        a.xor(ebx, ebx);
        a.mov(ecx, iterations);
        a.Label(ref top);
        a.test(cl, 1);
        a.jnz(odd);
        a.add(rbx, rcx);
        a.jmp(next);
        a.Label(ref odd);
        a.imul(rbx, rbx, 3);
        a.Label(ref next);
        a.dec(ecx);
        a.jnz(top);
    }

    /// <summary>Emits <paramref name="body"/> in a loop of <paramref name="iterations"/> counted down in ecx (the body must leave ecx alone).</summary>
    private static void CountedLoop(Assembler a, int iterations, Action body)
    {
        var top = a.CreateLabel();
        a.mov(ecx, iterations);
        a.Label(ref top);
        body();
        a.dec(ecx);
        a.jnz(top);
    }

    /// <summary>
    /// A loop of <paramref name="iterations"/> (ecx counts down) whose body is six blocks, the last
    /// calling <paramref name="function"/>: the loop's trace (six blocks at most) ends at the call,
    /// so the function's own trace is entered from a trace exit, which the traces then take by
    /// themselves. <paramref name="first"/> emits the first block, which must end by jumping to
    /// (or falling through to) the label it is given. Uses r10 and the registers of the first block.
    /// </summary>
    private static void LoopCallingAcrossTraces(Assembler a, int iterations, ulong function, Action<Label> first)
    {
        var blocks = new Label[5];
        for (int i = 0; i < blocks.Length; i++) blocks[i] = a.CreateLabel();
        CountedLoop(a, iterations, () =>
        {
            first(blocks[0]);
            a.jmp(blocks[0]);
            for (int i = 0; i < blocks.Length; i++)
            {
                a.Label(ref blocks[i]);
                a.add(r10, i + 1);
                if (i + 1 < blocks.Length) a.jmp(blocks[i + 1]);
            }
            a.call(function);
        });
    }

    /// <summary>
    /// The timer tests' machine: the handler, a function with a loop of its own (three rounds of
    /// rbx = rbx * 3 + edx, edx counting down) whose address is in r8, and a loop of 60,000
    /// <paramref name="body"/>s under a periodic timer of <paramref name="period"/> ticks; rbx goes to word 4.
    /// </summary>
    private static void TimedLoopCallingAFunction(TestMachine m, int period, Action<Assembler> body)
    {
        const ulong function = TestMachine.CodeBase + 0x400;
        LoadTimerHandler(m);
        m.Load(function, a =>
        {
            var loop = a.CreateLabel();
            a.mov(edx, 3);
            a.Label(ref loop);
            a.imul(rbx, rbx, 3);
            a.add(rbx, rdx);
            a.dec(edx);
            a.jnz(loop);
            a.ret();
        });
        m.Load(TestMachine.CodeBase, a =>
        {
            StartPeriodicTimer(a, period);
            a.xor(ebx, ebx);
            a.mov(r8, function);
            CountedLoop(a, 60_000, () => body(a));
            StoreResult(a, rbx, 4);
            TestMachine.Exit(a, 4);
        });
        m.SetGate(0x40, Handler);
    }

    // The remapping tests: a 2 MiB linear window (one page-directory entry) whose function at
    // WindowFunction is rbx += rcx while the window maps WindowFirst, and rbx = rbx * 3 ^ rcx
    // once it maps WindowSecond.
    private const ulong Window = 0x80_0000, WindowFirst = 0xA0_0000, WindowSecond = 0xC0_0000;
    private const ulong WindowFunction = Window + 0x100;
    private const ulong LargePage = 0x83; // present, writable, 2 MiB

    /// <summary>Maps the window to <see cref="WindowFirst"/>, loads both functions, and answers the address of the window's page-directory entry.</summary>
    private static ulong LoadWindowFunctions(TestMachine m)
    {
        ulong pde = m.Cr3 + 0x2000 + (Window >> 21) * 8;
        m.WritePhysical(pde, WindowFirst | LargePage);
        m.Load(WindowFirst + (WindowFunction - Window), a =>
        {
            a.add(rbx, rcx);
            a.ret();
        });
        m.Load(WindowSecond + (WindowFunction - Window), a =>
        {
            a.imul(rbx, rbx, 3);
            a.xor(rbx, rcx);
            a.ret();
        });
        return pde;
    }

    /// <summary>
    /// The timer tests' interrupt handler at <see cref="Handler"/>: it sums the interrupted RIPs
    /// (word 0), counts the interrupts (word 1) and sums rcx and rdx at each (words 2 and 3), all
    /// of which depend on the exact block boundary where each interrupt was taken. It clobbers
    /// rax and r9 only.
    /// </summary>
    private static void LoadTimerHandler(TestMachine m)
    {
        m.Load(Handler, a =>
        {
            a.mov(r9, Data + 0x8000);
            a.mov(rax, __qword_ptr[rsp]);
            a.add(__qword_ptr[r9], rax);
            a.inc(__qword_ptr[r9 + 8]);
            a.add(__qword_ptr[r9 + 16], rcx);
            a.add(__qword_ptr[r9 + 24], rdx);
            a.mov(rax, Apic);
            a.mov(__dword_ptr[rax + 0xB0], 0);   // EOI
            a.iretq();
        });
    }

    /// <summary>Enables the APIC and starts its timer, periodic with vector 0x40 every <paramref name="ticks"/> ticks, then STI.</summary>
    private static void StartPeriodicTimer(Assembler a, int ticks)
    {
        a.mov(rax, Apic);
        a.mov(__dword_ptr[rax + 0xF0], 0x1FF);
        a.mov(__dword_ptr[rax + 0x3E0], 0xB);          // divide by 1
        a.mov(__dword_ptr[rax + 0x320], 0x20040);      // periodic, vector 0x40
        a.mov(__dword_ptr[rax + 0x380], ticks);
        a.sti();
    }

    /// <summary>A function at <paramref name="at"/> that sets rbx = rbx * <paramref name="factor"/> + <paramref name="addend"/> and returns (one block).</summary>
    private static void LoadMultiplyAdd(TestMachine m, ulong at, int factor, AssemblerRegister64 addend) => m.Load(at, a =>
    {
        a.imul(rbx, rbx, factor);
        a.add(rbx, addend);
        a.ret();
    });

    private static void StoreResult(Assembler a, AssemblerRegister64 value, int word)
    {
        a.mov(rdx, Data + 0x8000);
        a.mov(__qword_ptr[rdx + word * 8], value);
    }

    [Fact]
    public void Direct_exits_follow_links_and_the_run_matches_the_interpreter()
    {
        var (interp, jit) = RunBoth(m => m.Load(TestMachine.CodeBase, a =>
        {
            BranchyLoop(a, 20_000);
            StoreResult(a, rbx, 0);
            TestMachine.Exit(a, 1);
        }));

        Assert.NotEqual(0UL, interp.Words[0]);
        // Nearly every direct exit of the loop goes through a link; only first executions look up.
        Assert.True(interp.Stats.LinkHits > 40_000, $"link hits {interp.Stats.LinkHits}");
        Assert.True(interp.Stats.LinkMisses < 20, $"link misses {interp.Stats.LinkMisses}");
        Assert.Equal(0, interp.Stats.TraceRuns);   // traces are a JIT-tier thing
    }

    [Fact]
    public void Calls_through_a_register_and_returns_hit_the_indirect_branch_table()
    {
        const ulong function = TestMachine.CodeBase + 0x400;
        var (interp, jit) = RunBoth(m =>
        {
            m.Load(function, a =>
            {
                a.add(rbx, rcx);
                a.ret();
            });
            m.Load(TestMachine.CodeBase, a =>
            {
                a.xor(ebx, ebx);
                a.mov(rsi, function);
                CountedLoop(a, 5_000, () => a.call(rsi));
                StoreResult(a, rbx, 0);
                TestMachine.Exit(a, 2);
            });
        });

        Assert.Equal(5_000UL * 5_001 / 2, interp.Words[0]);
        // Each iteration: the indirect call and the return.
        Assert.True(interp.Ibl.Hits >= 9_990, $"IBL hits {interp.Ibl.Hits}, misses {interp.Ibl.Misses}");
        Assert.True(interp.Ibl.Misses <= 4, $"IBL misses {interp.Ibl.Misses}");
    }

    [Fact]
    public void A_hot_loop_becomes_a_trace_that_runs_most_instructions_inside_one_method()
    {
        var (_, jit) = RunBoth(m => m.Load(TestMachine.CodeBase, a =>
        {
            BranchyLoop(a, 50_000);
            StoreResult(a, rbx, 0);
            TestMachine.Exit(a, 1);
        }));

        Assert.True(jit.Stats.TracesBuilt >= 1);
        Assert.True(jit.Jit!.TracesCompiled >= 1);
        // The quantum (10,000 ticks) bounds each trace run, so the loop enters its trace a few dozen times.
        Assert.True(jit.Stats.TraceRuns is > 0 and < 1_000, $"trace runs {jit.Stats.TraceRuns}");
        Assert.True(jit.Stats.TraceInstructions > jit.Stats.BlockInstructions * 10,
            $"{jit.Stats.TraceInstructions} instructions in traces, {jit.Stats.BlockInstructions} in blocks");
    }

    [Fact]
    public void Calls_and_returns_inside_a_trace_check_the_recorded_target_inline()
    {
        const ulong function = TestMachine.CodeBase + 0x400;
        var (_, jit) = RunBoth(m =>
        {
            LoadMultiplyAdd(m, function, 5, rcx);
            m.Load(TestMachine.CodeBase, a =>
            {
                a.xor(ebx, ebx);
                a.mov(rsi, function);
                CountedLoop(a, 30_000, () => a.call(rsi));
                StoreResult(a, rbx, 0);
                TestMachine.Exit(a, 2);
            });
        });

        Assert.True(jit.Stats.TraceInstructions > jit.Stats.BlockInstructions * 10,
            $"{jit.Stats.TraceInstructions} instructions in traces, {jit.Stats.BlockInstructions} in blocks");
        // Inside the trace neither the call nor the return consults the table.
        Assert.True(jit.Ibl.Hits < 1_000, $"IBL hits {jit.Ibl.Hits}");
    }

    [Fact]
    public void A_fault_inside_a_trace_is_delivered_with_the_faulting_instruction_s_rip_and_the_state_before_it()
    {
        const ulong table = Data;
        const ulong unmapped = 0x7f00_0000_0000;
        const int faultAt = 3_000;
        void Setup(TestMachine m)
        {
            // A table of pointers to one valid word, except entry faultAt, which points nowhere.
            for (int i = 0; i < 4_000; i++) m.WritePhysical(table + (ulong)i * 8, i == faultAt ? unmapped : Data + 0x7000);
            m.WritePhysical(Data + 0x7000, 7);
            m.Load(Handler, a =>
            {
                a.mov(rdx, Data + 0x8000);
                a.mov(rax, __qword_ptr[rsp + 8]);    // RIP in the frame
                a.mov(__qword_ptr[rdx], rax);
                a.mov(rax, cr2);
                a.mov(__qword_ptr[rdx + 8], rax);
                a.mov(__qword_ptr[rdx + 16], rbx);
                a.mov(__qword_ptr[rdx + 24], rcx);
                a.mov(__qword_ptr[rdx + 32], rdi);
                TestMachine.Exit(a, 9);
            });
            m.Load(TestMachine.CodeBase, a =>
            {
                var top = a.CreateLabel();
                var even = a.CreateLabel();
                a.xor(ebx, ebx);
                a.xor(ecx, ecx);
                a.mov(rsi, table);
                a.Label(ref top);
                a.test(cl, 1);
                a.jz(even);
                a.add(rbx, 1);
                a.Label(ref even);
                a.mov(rdi, __qword_ptr[rsi + rcx * 8]);
                a.add(rbx, rcx);
                a.add(rbx, __qword_ptr[rdi]);       // faults when rdi is the unmapped pointer
                a.inc(ecx);
                a.cmp(ecx, 4_000);
                a.jne(top);
                TestMachine.Exit(a, 1);
            });
            m.SetGate(14, Handler);
        }

        var (interp, jit) = RunBoth(Setup);

        Assert.Equal(9, jit.Status);
        Assert.Equal(unmapped, jit.Words[1]);
        Assert.Equal((ulong)faultAt, jit.Words[3]);
        Assert.Equal(unmapped, jit.Words[4]);
        // rbx before the faulting add: the previous iterations, plus this one's odd-bit and index.
        ulong expected = 0;
        for (ulong i = 0; i < faultAt; i++) expected += (i & 1) + i + 7;
        expected += (faultAt & 1) + faultAt;
        Assert.Equal(expected, jit.Words[2]);
        Assert.True(jit.Stats.TraceRuns > 0 && jit.Stats.TraceInstructions > 10_000, $"{jit.Stats.TraceInstructions} instructions in traces");
    }

    [Fact]
    public void Timer_interrupts_land_at_the_same_block_boundaries_inside_and_outside_traces()
    {
        void Setup(TestMachine m)
        {
            LoadTimerHandler(m);
            m.Load(TestMachine.CodeBase, a =>
            {
                StartPeriodicTimer(a, 1_777);
                BranchyLoop(a, 100_000);
                StoreResult(a, rbx, 4);
                TestMachine.Exit(a, 4);
            });
            m.SetGate(0x40, Handler);
        }

        var (interp, jit) = RunBoth(Setup);

        Assert.True(interp.Words[1] > 100, $"{interp.Words[1]} interrupts");
        Assert.True(jit.Stats.TraceInstructions > jit.Stats.BlockInstructions, $"{jit.Stats.TraceInstructions} instructions in traces");
    }

    [Fact]
    public void Timer_interrupts_land_at_the_same_block_boundaries_when_traces_run_one_into_another()
    {
        // A loop calls a function with a loop of its own from two call sites, so the function's
        // return goes to either: its trace leaves there, and goes on into the caller's trace
        // without the dispatch loop. The interrupted RIPs must still be the interpreter's, and
        // the registers at each interrupt (rcx, rdx) too.
        var (interp, jit) = RunBoth(m => TimedLoopCallingAFunction(m, 1_013, a =>
        {
            a.call(r8);
            a.add(rbx, rcx);
            a.call(r8);          // a second call site: the return goes elsewhere every other time
            a.xor(rbx, rcx);
        }));

        Assert.True(interp.Words[1] > 500, $"{interp.Words[1]} interrupts");
        Assert.True(jit.Stats.TraceChains > 10_000, $"{jit.Stats.TraceChains} trace-to-trace entries of {jit.Stats.TraceRuns}, ibl {jit.Ibl.Hits}/{jit.Ibl.Misses} links {jit.Stats.LinkHits}/{jit.Stats.LinkMisses}");
    }

    [Fact]
    public void An_interrupt_a_trace_sends_itself_lands_at_its_next_block_boundary()
    {
        // Every 64th iteration, the loop's store goes to the APIC's ICR instead of memory: a
        // self-IPI, through the TLB's slow path in the middle of the trace. The interrupt must be
        // taken at the next block boundary, as the interpreter takes it, although the trace was
        // entered when nothing was pending.
        void Setup(TestMachine m)
        {
            const ulong function = TestMachine.CodeBase + 0x400;
            LoadTimerHandler(m);
            LoadMultiplyAdd(m, function, 3, rcx);
            m.Load(TestMachine.CodeBase, a =>
            {
                a.mov(rax, Apic);
                a.mov(__dword_ptr[rax + 0xF0], 0x1FF);   // software enable
                a.sti();
                a.xor(ebx, ebx);
                a.mov(esi, 0x4_0040);                    // fixed, vector 0x40, shorthand: self
                a.mov(rdx, Apic + 0x300);                // ICR, low half
                a.mov(r8, function);
                CountedLoop(a, 20_000, () =>
                {
                    a.mov(rdi, Data);
                    a.test(ecx, 63);
                    a.cmovz(rdi, rdx);
                    a.mov(__dword_ptr[rdi], esi);
                    a.call(r8);
                    a.xor(rbx, rcx);
                });
                StoreResult(a, rbx, 4);
                TestMachine.Exit(a, 4);
            });
            m.SetGate(0x40, Handler);
        }

        var (interp, jit) = RunBoth(Setup);

        Assert.Equal(20_000UL / 64, interp.Words[1]);
        Assert.True(jit.Stats.TraceInstructions > jit.Stats.BlockInstructions, $"{jit.Stats.TraceInstructions} instructions in traces");
    }

    [Fact]
    public void Indirect_exits_that_change_target_go_on_into_the_right_trace_inside_compiled_code()
    {
        // Each iteration calls one of four functions through a table, in turn: the call site's
        // target and each return's target change every time, so a chain site's last target is
        // mostly wrong. The traces find the right one in the runtime's table of traces by RIP.
        const int iterations = 20_000;
        void Setup(TestMachine m) => LoadFunctionTableLoop(m, iterations);

        var (_, jit) = RunBoth(Setup);

        // Without the table, half the trace runs came through the dispatch loop's indirect-branch
        // look-up (10,279 hits); with it, nearly every run is entered from another trace's code.
        Assert.True(jit.Stats.TraceChainsInCode > jit.Stats.TraceRuns * 9 / 10, $"{jit.Stats.TraceChainsInCode} of {jit.Stats.TraceRuns} trace runs chained inside compiled code");
        Assert.True(jit.Ibl.Hits < iterations / 10, $"{jit.Ibl.Hits} indirect-branch look-ups in the dispatcher");
    }

    /// <summary>
    /// A loop whose iteration <c>i</c> calls function <c>i % 4</c> of four through a table: the call
    /// site's target and each return's target change every time, so traces go on into each other.
    /// </summary>
    private static void LoadFunctionTableLoop(TestMachine m, int iterations)
    {
        const ulong functions = TestMachine.CodeBase + 0x400, table = Data + 0x100;
        for (int f = 0; f < 4; f++)
        {
            int k = f;
            m.Load(functions + (ulong)f * 0x40, a =>
            {
                a.imul(rbx, rbx, 3 + 2 * k);
                a.add(rbx, k + 1);
                a.ret();
            });
            m.WritePhysical(table + (ulong)f * 8, functions + (ulong)f * 0x40);
        }
        m.Load(TestMachine.CodeBase, a =>
        {
            a.xor(ebx, ebx);
            a.mov(rsi, table);
            CountedLoop(a, iterations, () =>
            {
                a.mov(eax, ecx);
                a.and(eax, 3);
                a.call(__qword_ptr[rsi + rax * 8]);
                a.xor(rbx, rcx);
            });
            StoreResult(a, rbx, 4);
            TestMachine.Exit(a, 4);
        });
    }

    [Fact]
    public void Chains_inside_compiled_code_keep_the_host_stack_flat()
    {
        // Traces go on into each other through the shared chain stub; with one round for the whole
        // run the run loop does not get control back until the end, so one chain follows another
        // tens of thousands of times. Each transfer is two tail calls (trace to stub, stub to trace);
        // were either a plain call, every chain would leave its frames behind and this run, on a
        // thread with 256 KiB of stack, would overflow it within a few thousand chains.
        const int iterations = 100_000;
        void Setup(TestMachine m) => LoadFunctionTableLoop(m, iterations);

        Outcome? jit = null;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                jit = Run(ExecutionTier.Jit, Setup, quantum: 100_000_000);
            }
            catch (Exception e)
            {
                error = e;
            }
        }, maxStackSize: 256 * 1024);
        thread.Start();
        thread.Join();

        Assert.Null(error);
        var interp = Run(ExecutionTier.Interpreter, Setup);
        Assert.Equal(MachineStopReason.DebugExit, jit!.Reason);
        Assert.Equal(interp.Words, jit.Words);
        Assert.Equal(interp.Retired, jit.Retired);
        Assert.True(jit.Stats.TraceChainsInCode > 10_000, $"{jit.Stats.TraceChainsInCode} chains inside compiled code");
    }

    // The bytecode-loop tests: a dispatch block that takes the next opcode (ecx counts down
    // through a program of bytes) and jumps through a table to one of four handlers, each of which
    // jumps back; rbx goes to word 4. The shape of compute-user's interpreter: every opcode is an
    // indirect jump to a target that changes at random.
    private const ulong Dispatch = TestMachine.CodeBase + 0x200, Done = TestMachine.CodeBase + 0x300;
    private const ulong Handlers = TestMachine.CodeBase + 0x400, HandlerTable = Data + 0x100, Program = Data + 0x1_0000;

    /// <summary>The program's opcodes, 0..3, from a fixed seed; opcode <c>i</c> runs when ecx is <c>i</c>.</summary>
    private static byte[] BytecodeProgram(int length)
    {
        var random = new Random(7);
        var program = new byte[length];
        for (int i = 0; i < length; i++) program[i] = (byte)random.Next(4);
        return program;
    }

    /// <summary>Loads the bytecode loop over <paramref name="program"/> with handlers whose bodies <paramref name="handler"/> emits (by opcode).</summary>
    private static void LoadBytecodeLoop(TestMachine m, byte[] program, Action<Assembler, int> handler)
    {
        for (int i = 0; i < program.Length; i += 8)
            m.WritePhysical(Program + (ulong)i, BitConverter.ToUInt64(program.AsSpan(i, 8)));
        for (int k = 0; k < 4; k++)
        {
            int op = k;
            m.Load(Handlers + (ulong)k * 0x40, a =>
            {
                handler(a, op);
                a.jmp(Dispatch);
            });
            m.WritePhysical(HandlerTable + (ulong)k * 8, Handlers + (ulong)k * 0x40);
        }
        m.Load(Dispatch, a =>
        {
            a.dec(ecx);
            a.jz(Done);
            a.movzx(eax, __byte_ptr[rdi + rcx]);
            a.jmp(__qword_ptr[rsi + rax * 8]);
        });
        m.Load(Done, a =>
        {
            StoreResult(a, rbx, 4);
            TestMachine.Exit(a, 9);
        });
        m.Load(TestMachine.CodeBase, a =>
        {
            a.xor(ebx, ebx);
            a.mov(edx, 5);
            a.mov(rsi, HandlerTable);
            a.mov(rdi, Program);
            a.mov(ecx, program.Length);
            a.jmp(Dispatch);
        });
    }

    /// <summary>The four handlers of the bytecode tests: rbx += rdx, rbx *= 3, rbx ^= rcx, rbx += 0x1234_5678 (an imm32).</summary>
    private static void ArithmeticHandler(Assembler a, int op)
    {
        switch (op)
        {
            case 0: a.add(rbx, rdx); break;
            case 1: a.imul(rbx, rbx, 3); break;
            case 2: a.xor(rbx, rcx); break;
            default: a.add(rbx, 0x1234_5678); break;
        }
    }

    /// <summary>What the bytecode loop leaves in rbx, with the fourth handler adding <paramref name="addend"/>(ecx).</summary>
    private static ulong BytecodeResult(byte[] program, Func<int, ulong> addend)
    {
        ulong rbx = 0;
        for (int i = program.Length - 1; i > 0; i--)
        {
            rbx = program[i] switch
            {
                0 => rbx + 5,
                1 => rbx * 3,
                2 => rbx ^ (ulong)i,
                _ => rbx + addend(i),
            };
        }
        return rbx;
    }

    [Fact]
    public void Traces_that_chain_often_are_joined_so_a_dispatch_loop_stays_in_one_method()
    {
        // Each handler's trace goes on into the dispatch block's trace and that one into a handler
        // chosen at random: without joining, every opcode is a transfer between two compiled
        // methods. Joined, the dispatch block and all four handlers are one method whose indirect
        // jump compares its target with each handler's block.
        var program = BytecodeProgram(600_000);
        var (interp, jit) = RunBoth(m => LoadBytecodeLoop(m, program, ArithmeticHandler));

        Assert.Equal(BytecodeResult(program, _ => 0x1234_5678), interp.Words[4]);
        Assert.True(jit.Stats.TracesJoined >= 1, $"{jit.Stats.TracesJoined} joins");
        // Without joins nearly every opcode entered a trace; joined, the loop leaves its method only
        // when the budget or an interrupt poll makes it.
        Assert.True(jit.Stats.TraceRuns < program.Length / 10, $"{jit.Stats.TraceRuns} trace entries for {program.Length} opcodes ({jit.Stats.TracesJoined} joins)");
    }

    [Fact]
    public void A_dispatch_loop_and_all_its_handlers_are_joined_in_one_compilation()
    {
        // When the first pair of traces is joined, the other handlers' traces have been going on
        // into the dispatch block's trace by themselves too: they join the same region at once,
        // instead of one more join (the whole region compiled again) for each.
        var program = BytecodeProgram(600_000);
        var (interp, jit) = RunBoth(m => LoadBytecodeLoop(m, program, ArithmeticHandler));

        Assert.Equal(BytecodeResult(program, _ => 0x1234_5678), interp.Words[4]);
        Assert.Equal(1, jit.Stats.TracesJoined);
        Assert.True(jit.Stats.TraceRuns < program.Length / 10, $"{jit.Stats.TraceRuns} trace entries for {program.Length} opcodes");
    }

    [Fact]
    public void Traces_that_chain_often_but_sparsely_are_not_joined()
    {
        // The bytecode loop, but each handler spins 600 rounds first: the traces go on into one
        // another inside compiled code more than 4,096 times each, but each about once per 6,000
        // instructions, too sparse for a join to pay for its compilation.
        var program = BytecodeProgram(24_000);
        var (interp, jit) = RunBoth(m => LoadBytecodeLoop(m, program, (a, op) =>
        {
            var spin = a.CreateLabel();
            a.mov(r8d, 600);
            a.Label(ref spin);
            a.dec(r8d);
            a.jnz(spin);
            ArithmeticHandler(a, op);
        }));

        Assert.Equal(BytecodeResult(program, _ => 0x1234_5678), interp.Words[4]);
        Assert.True(jit.Stats.TraceChainsInCode > 4 * CompiledBlock.ChainsBeforeJoin, $"{jit.Stats.TraceChainsInCode} chains inside compiled code");
        Assert.Equal(0, jit.Stats.TracesJoined);
    }

    [Fact]
    public void A_joined_trace_dies_with_a_handler_whose_code_is_written_and_the_loop_runs_the_new_code()
    {
        // As above; when ecx reaches patchAt (an opcode 2), handler 2 rewrites the immediate of
        // handler 3's add (by then in a joined trace): the joined trace must die, and from the next opcode on,
        // handler 3 adds the new immediate, as on the interpreter.
        const uint patched = 0x0BAD_F00D;
        ulong immediate = Handlers + 3 * 0x40 + 3; // after the add's REX, opcode and ModRM
        var program = BytecodeProgram(80_000);
        int patchAt = Array.LastIndexOf(program, (byte)2, 40_000); // handler 2 runs there
        var (interp, jit) = RunBoth(m => LoadBytecodeLoop(m, program, (a, op) =>
        {
            if (op == 2)
            {
                var skip = a.CreateLabel();
                a.cmp(ecx, patchAt);
                a.jne(skip);
                a.mov(rax, immediate);
                a.mov(__dword_ptr[rax], patched);
                a.Label(ref skip);
            }
            ArithmeticHandler(a, op);
        }));

        Assert.Equal(BytecodeResult(program, i => i < patchAt ? patched : 0x1234_5678UL), interp.Words[4]);
        Assert.True(jit.Stats.TracesJoined >= 2, $"{jit.Stats.TracesJoined} joins (before the write and after)");
    }

    [Fact]
    public void Timer_interrupts_held_by_cli_land_one_block_after_sti_inside_traces()
    {
        // STI may join traces: its block ends after it, and the shadow it opens covers the next
        // block's first instruction. Each iteration masks interrupts for part of the loop, so
        // timer interrupts wait for the STI and then for the shadowed block; inside a trace and
        // across traces chained by themselves, they must land where the interpreter lands them.
        var (interp, jit) = RunBoth(m => TimedLoopCallingAFunction(m, 997, a =>
        {
            a.cli();
            a.call(r8);
            a.add(rbx, rcx);
            a.sti();
            a.xor(rbx, rcx);     // in the shadow
            a.call(r8);
        }));

        Assert.True(interp.Words[1] > 500, $"{interp.Words[1]} interrupts");
        Assert.True(jit.Stats.TraceInstructions > (long)(jit.Retired * 8 / 10), $"{jit.Stats.TraceInstructions} of {jit.Retired} instructions in traces");
        Assert.True(jit.Stats.TraceChainsInCode > 10_000, $"{jit.Stats.TraceChainsInCode} chains inside compiled code");
    }

    [Fact]
    public void Timer_interrupts_held_by_cli_land_one_block_after_sti_that_ends_a_trace()
    {
        // As above, but the STI ends the sixth block, the last a trace holds: the shadowed block
        // starts the next trace, which the first enters by itself (or through the dispatch loop).
        // The period matters: with 997 every interrupt came due while masked (the handler's length
        // locked the phase), and a shadow left open by a chain went unseen; with 1,013 some come
        // due in the unmasked part, and the test fails when the chain stub leaves the shadow open.
        const ulong function = TestMachine.CodeBase + 0x400;
        void Setup(TestMachine m)
        {
            LoadTimerHandler(m);
            LoadMultiplyAdd(m, function, 3, rdx);
            m.Load(TestMachine.CodeBase, a =>
            {
                StartPeriodicTimer(a, 1_013);
                a.xor(ebx, ebx);
                // Blocks: [cli] (CLI ends its block), [imul add jmp], four more, the last ending with STI.
                var blocks = new Label[4];
                for (int i = 0; i < blocks.Length; i++) blocks[i] = a.CreateLabel();
                CountedLoop(a, 60_000, () =>
                {
                    a.cli();
                    a.imul(rbx, rbx, 5);
                    a.add(rbx, rcx);
                    a.jmp(blocks[0]);
                    for (int i = 0; i < blocks.Length; i++)
                    {
                        a.Label(ref blocks[i]);
                        a.add(r10, i + 1);
                        if (i + 1 < blocks.Length) a.jmp(blocks[i + 1]);
                    }
                    a.sti();
                    a.xor(rbx, rcx);     // in the shadow
                    a.call(function);
                });
                StoreResult(a, rbx, 4);
                TestMachine.Exit(a, 4);
            });
            m.SetGate(0x40, Handler);
        }

        var (interp, jit) = RunBoth(Setup);

        Assert.True(interp.Words[1] > 500, $"{interp.Words[1]} interrupts");
        Assert.True(jit.Stats.TraceChainsInCode >= 4_000, $"{jit.Stats.TraceChainsInCode} chains inside compiled code");
    }

    [Fact]
    public void Code_written_by_a_traced_loop_into_its_own_trace_runs_in_its_new_form()
    {
        const ulong patched = TestMachine.CodeBase + 0x600;
        void Setup(TestMachine m)
        {
            m.Load(patched, a =>
            {
                a.mov(eax, 1);          // the immediate at patched + 1 becomes 1000
                a.ret();
            });
            m.Load(TestMachine.CodeBase, a =>
            {
                var top = a.CreateLabel();
                var skip = a.CreateLabel();
                a.xor(ebx, ebx);
                a.mov(ecx, 20_000);
                a.mov(rsi, patched);
                a.Label(ref top);
                a.cmp(ecx, 7_000);
                a.jne(skip);
                a.mov(__dword_ptr[rsi + 1], 1_000);
                a.Label(ref skip);
                a.call(rsi);
                a.add(rbx, rax);
                a.dec(ecx);
                a.jnz(top);
                StoreResult(a, rbx, 0);
                TestMachine.Exit(a, 5);
            });
        }

        var (interp, jit) = RunBoth(Setup);

        Assert.Equal(13_000UL * 1 + 7_000UL * 1_000, interp.Words[0]);
        Assert.True(jit.Cache.Invalidated >= 1);
        Assert.True(jit.Stats.TracesBuilt >= 2, $"{jit.Stats.TracesBuilt} traces (one before the write, one after)");
    }

    [Fact]
    public void A_function_replaced_by_different_code_at_the_same_address_runs_the_new_code_through_links_and_traces()
    {
        // Module unload + load at the same address, in small: a hot function is called from a
        // traced loop, then a guest copy loop overwrites it with another function, which the
        // same loop calls again.
        const ulong function = TestMachine.CodeBase + 0x1000;
        const ulong replacement = Data + 0x4000;
        void Setup(TestMachine m)
        {
            m.Load(function, a =>
            {
                a.add(rbx, rcx);
                a.ret();
            });
            var bytes = m.Load(replacement, a =>
            {
                a.imul(rbx, rbx, 3);
                a.xor(rbx, rcx);
                a.ret();
            });
            m.Load(TestMachine.CodeBase, a =>
            {
                a.xor(ebx, ebx);
                a.mov(r8, function);
                CountedLoop(a, 10_000, () => a.call(r8));
                a.mov(rsi, replacement);
                a.mov(rdi, function);
                a.mov(ecx, bytes.Length);
                a.rep.movsb();
                CountedLoop(a, 10_000, () => a.call(r8));
                StoreResult(a, rbx, 0);
                TestMachine.Exit(a, 6);
            });
        }

        var (interp, jit) = RunBoth(Setup);

        ulong expected = 0;
        for (ulong i = 10_000; i > 0; i--) expected += i;
        for (ulong i = 10_000; i > 0; i--) expected = (expected * 3) ^ i;
        Assert.Equal(expected, interp.Words[0]);
        Assert.True(jit.Stats.TraceRuns > 0);
    }

    [Fact]
    public void A_page_remapped_under_linked_and_indirectly_reached_code_runs_the_new_page_after_invlpg()
    {
        // Links, the indirect-branch table and trace entries skip re-translating while the TLB's
        // generation stands still; a page-table write followed by INVLPG must still be seen. A
        // 2 MiB linear window first maps a page holding one function, then one holding another at
        // the same offset, and a traced loop calls it directly and through a register.
        void Setup(TestMachine m)
        {
            ulong pde = LoadWindowFunctions(m);
            m.Load(TestMachine.CodeBase, a =>
            {
                void CallBoth()
                {
                    a.call(r8);
                    a.call(WindowFunction);
                }
                a.xor(ebx, ebx);
                a.mov(r8, WindowFunction);
                CountedLoop(a, 5_000, CallBoth);
                a.mov(rdx, pde);
                a.mov(rax, WindowSecond | LargePage);
                a.mov(__qword_ptr[rdx], rax);
                a.invlpg(__[r8]);
                CountedLoop(a, 5_000, CallBoth);
                StoreResult(a, rbx, 0);
                TestMachine.Exit(a, 6);
            });
        }

        var (interp, jit) = RunBoth(Setup);

        ulong expected = 0;
        for (ulong i = 5_000; i > 0; i--) expected += 2 * i;
        for (ulong i = 5_000; i > 0; i--)
        {
            expected = (expected * 3) ^ i;
            expected = (expected * 3) ^ i;
        }
        Assert.Equal(expected, interp.Words[0]);
        Assert.True(jit.Stats.TraceRuns > 0);
        Assert.True(jit.Ibl.Hits > 0);
    }

    [Fact]
    public void A_trace_that_goes_on_into_another_by_itself_sees_the_other_s_page_remapped()
    {
        // A loop trace of six blocks ends with a call into a function in a 2 MiB window; the
        // function's own trace is entered from that exit, and after the dispatch loop has chained
        // the two once, the loop trace's exit tail-calls the function's trace by itself. Half-way,
        // the window is remapped (page-table write and INVLPG on a path outside the traces): from
        // then on the exit must reach the other function, not the trace compiled from the old page.
        const int iterations = 10_000, remapAt = 5_000;
        void Setup(TestMachine m)
        {
            ulong pde = LoadWindowFunctions(m);
            m.Load(TestMachine.CodeBase, a =>
            {
                a.xor(ebx, ebx);
                a.mov(r8, WindowFunction);
                a.mov(r9, pde);
                LoopCallingAcrossTraces(a, iterations, WindowFunction, next =>
                {
                    a.cmp(ecx, remapAt);
                    a.jne(next);
                    a.mov(rax, WindowSecond | LargePage);
                    a.mov(__qword_ptr[r9], rax);
                    a.invlpg(__[r8]);
                });
                StoreResult(a, rbx, 0);
                TestMachine.Exit(a, 7);
            });
        }

        var (interp, jit) = RunBoth(Setup);

        ulong expected = 0;
        for (ulong i = iterations; i > 0; i--) expected = i > remapAt ? expected + i : (expected * 3) ^ i;
        Assert.Equal(expected, interp.Words[0]);
        Assert.True(jit.Stats.TraceChainsInCode > 1_000, $"{jit.Stats.TraceChainsInCode} chains inside compiled code");
    }

    [Fact]
    public void A_trace_entered_from_another_by_itself_that_writes_its_own_code_runs_it_in_its_new_form()
    {
        // As above, the loop's trace goes on into the function's trace by itself. The function
        // stores to a data word, except once, when the store rewrites the immediate of the add
        // right after it, in the same block: the store must end the block and the add run anew
        // (the run loop must know which trace's block is executing, though it did not enter it).
        const ulong function = TestMachine.CodeBase + 0x800;
        const ulong immediate = function + 2 + 3; // after mov [rdi], esi (2 bytes) and the add's REX, opcode, ModRM
        const int iterations = 10_000, patchAt = 5_000;
        void Setup(TestMachine m)
        {
            m.Load(function, a =>
            {
                a.mov(__dword_ptr[rdi], esi);
                a.add(rbx, 0x1234_5678); // imm32, so the patched immediate is 4 bytes
                a.ret();
            });
            m.Load(TestMachine.CodeBase, a =>
            {
                a.xor(ebx, ebx);
                a.mov(esi, 1_000);
                a.mov(rdx, immediate);
                LoopCallingAcrossTraces(a, iterations, function, next =>
                {
                    a.mov(rdi, Data);
                    a.cmp(ecx, patchAt);
                    a.cmove(rdi, rdx);
                });
                StoreResult(a, rbx, 0);
                TestMachine.Exit(a, 8);
            });
        }

        var (interp, jit) = RunBoth(Setup);

        Assert.Equal((iterations - patchAt) * 0x1234_5678UL + patchAt * 1_000UL, interp.Words[0]);
        Assert.True(jit.Stats.TraceChainsInCode > 1_000, $"{jit.Stats.TraceChainsInCode} chains inside compiled code");
        Assert.True(jit.Cache.Invalidated >= 1);
    }

    [Fact]
    public void A_block_past_a_trace_s_head_that_writes_its_own_code_runs_it_in_its_new_form()
    {
        // The loop's trace holds the function's block after its own. Once, the function's store
        // rewrites the immediate of the add right after it, in the same block: the run loop must
        // know that this block, not the trace's head, is running, to end it at the store and run
        // the add anew.
        var (interp, jit) = RunBoth(m => LoopPatchingAnAdd(m, storeInFunction: true));
        AssertPatchedOnce(interp, jit);
    }

    [Fact]
    public void Code_a_trace_writes_into_a_later_block_of_itself_runs_in_its_new_form()
    {
        // The loop's trace holds its own block, the function and the loop's end. Once, the store in
        // the first block rewrites the immediate of the function's add, a later block of the same
        // trace: the trace must leave at the next block boundary, and the add run in its new form
        // from then on. The store goes through the TLB's slow path (the code page is write-watched);
        // nothing else in the trace would notice.
        var (interp, jit) = RunBoth(m => LoopPatchingAnAdd(m, storeInFunction: false));
        AssertPatchedOnce(interp, jit);
    }

    private const int PatchIterations = 10_000, PatchAt = 5_000;

    /// <summary>
    /// A loop of <see cref="PatchIterations"/> calls of a function whose add of 0x12345678 to rbx
    /// becomes an add of 1,000 at iteration <see cref="PatchAt"/>: a store of esi goes to a data
    /// word except then, when it goes to the add's immediate. The store is the function's first
    /// instruction (<paramref name="storeInFunction"/>) or the loop's last before the call; rbx goes to word 0.
    /// </summary>
    private static void LoopPatchingAnAdd(TestMachine m, bool storeInFunction)
    {
        const ulong function = TestMachine.CodeBase + 0x800;
        // After the store (mov [rdi], esi: 2 bytes) if any, and the add's REX, opcode and ModRM.
        ulong immediate = function + (storeInFunction ? 2UL : 0) + 3;
        m.Load(function, a =>
        {
            if (storeInFunction) a.mov(__dword_ptr[rdi], esi);
            a.add(rbx, 0x1234_5678); // imm32, so the patched immediate is 4 bytes
            a.ret();
        });
        m.Load(TestMachine.CodeBase, a =>
        {
            a.xor(ebx, ebx);
            a.mov(esi, 1_000);
            a.mov(rdx, immediate);
            a.mov(r8, function);
            CountedLoop(a, PatchIterations, () =>
            {
                a.mov(rdi, Data);
                a.cmp(ecx, PatchAt);
                a.cmove(rdi, rdx);
                if (!storeInFunction) a.mov(__dword_ptr[rdi], esi);
                a.call(r8);
            });
            StoreResult(a, rbx, 0);
            TestMachine.Exit(a, 9);
        });
    }

    private static void AssertPatchedOnce(Outcome interp, Outcome jit)
    {
        Assert.Equal((PatchIterations - PatchAt) * 0x1234_5678UL + PatchAt * 1_000UL, interp.Words[0]);
        Assert.True(jit.Stats.TraceRuns > 0, "no trace ran");
        Assert.True(jit.Cache.Invalidated >= 1);
    }

    [Fact]
    public void A_full_cache_is_flushed_and_the_run_goes_on_with_the_same_result()
    {
        void Setup(TestMachine m)
        {
            const ulong function = TestMachine.CodeBase + 0x400;
            LoadMultiplyAdd(m, function, 5, rcx);
            m.Load(TestMachine.CodeBase, a =>
            {
                a.mov(rsi, function);
                BranchyLoop(a, 3_000);
                CountedLoop(a, 3_000, () => a.call(rsi));
                StoreResult(a, rbx, 0);
                TestMachine.Exit(a, 3);
            });
        }

        var unlimited = Run(ExecutionTier.Interpreter, Setup);
        foreach (var tier in new[] { ExecutionTier.Interpreter, ExecutionTier.Jit })
        {
            var tiny = Run(tier, Setup, cacheSize: 12);
            Assert.Equal(unlimited.Status, tiny.Status);
            Assert.Equal(unlimited.Retired, tiny.Retired);
            Assert.Equal(unlimited.Words, tiny.Words);
            Assert.True(tiny.Cache.Flushes > 100, $"{tier}: {tiny.Cache.Flushes} flushes");
            // A block larger than the whole cache still goes in, alone.
            Assert.True(tiny.Cache.PeakCodeBytes <= 12 + 32, $"{tier}: peak {tiny.Cache.PeakCodeBytes} bytes");
        }
        Assert.Equal(0, unlimited.Cache.Flushes);
    }
}
