using Drk.Dispatcher.Execution;
using Drk.Dispatcher.IR;
using Drk.Dispatcher.Jit;
using Drk.Dispatcher.Tests.Execution;
using Drk.Hv.Boot;
using Drk.Hv.Cpu;
using Drk.Hv.Memory;

namespace Drk.Dispatcher.Tests.Jit;

/// <summary>
/// The soft-TLB fast path that compiled blocks inline over an <see cref="Mmu"/>: the layout contract
/// of <see cref="TlbFastPath"/>, and compiled loads and stores against the interpreter on misses,
/// hits, page-crossing accesses, unbacked and faulting addresses, user and supervisor TLBs (also
/// chosen at compile time for a trace's CPL), a CPL change in the middle of a block and
/// write-watched code pages.
/// </summary>
public sealed unsafe class TlbFastPathTests
{
    private const ulong DataBase = 0x60_0000;

    [Fact]
    public void The_published_layout_finds_the_entry_the_MMU_filled_and_its_host_bytes()
    {
        using var physical = new PhysicalMemory(TierTwin.RamSize);
        var state = new VcpuState();
        state.Sys.Cr3 = IdentityPageTables.Build(physical, 0x10_0000);
        state.Sys.Cr0 = LongModeEntry.Cr0;
        state.Sys.Cr4 = LongModeEntry.Cr4;
        state.Sys.Efer = LongModeEntry.Efer;
        var mmu = new Mmu(physical, state);
        ulong address = DataBase + 0x1234;
        physical.WriteBytes(address, [0x5a]);
        Assert.True(mmu.Translate(address, AccessKind.Read, out _, out _));

        byte* entry = (byte*)TlbFastPath.EntriesAddress(mmu, user: false)
            + (nint)((address >> TlbFastPath.PageShift) & TlbFastPath.IndexMask) * TlbFastPath.EntrySize;
        Assert.Equal(address & ~TlbFastPath.PageOffsetMask, *(ulong*)(entry + TlbFastPath.ReadTagOffset));
        // The compiled fast path scales the index by a shift.
        Assert.Equal(TlbFastPath.EntrySize, 1 << TlbFastPath.EntryShift);
        byte* host = (byte*)(*(nint*)(entry + TlbFastPath.HostAddendOffset) + (nint)address);
        Assert.Equal(0x5a, *host);
        Assert.NotEqual(TlbFastPath.EntriesAddress(mmu, user: false), TlbFastPath.EntriesAddress(mmu, user: true));
        // Pinned: the address does not move across a collection.
        nint before = TlbFastPath.EntriesAddress(mmu, user: true);
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        Assert.Equal(before, TlbFastPath.EntriesAddress(mmu, user: true));
    }

    public static TheoryData<ulong> Addresses => new()
    {
        DataBase, DataBase + 0x7, DataBase + 0xffc, DataBase + 0xfff, DataBase + 0x1ff8,
        // unbacked physical memory inside the identity map: an MMIO-flagged entry, always the slow path
        0x2000_0000, 0x2000_0ffe,
        // not mapped (#PF), not canonical (#GP)
        0x1_0000_0000, 0x0000_8000_0000_0000,
        // the last page of RAM and across its end
        TierTwin.RamSize - 0x10, TierTwin.RamSize - 2,
    };

    [Theory]
    [MemberData(nameof(Addresses))]
    public void Compiled_accesses_through_the_MMU_match_the_interpreter_on_misses_and_hits(ulong address)
    {
        using var twin = TierTwin.Mmu(paging: true, p => p.WriteBytes(DataBase, RandomBytes(0x3000, 7)));
        foreach (var type in new[] { IrType.I8, IrType.I16, IrType.I32, IrType.I64 })
        {
            var block = AccessBlock(type);
            // The first run misses and fills the TLB; later ones hit where the MMU allows it.
            for (int run = 0; run < 3; run++)
            {
                Reset(twin, address, 0x1122_3344_5566_7788UL + (ulong)run);
                twin.Run(block, $"{type} at {address:x}, run {run}");
            }
        }
    }

    [Fact]
    public void User_and_supervisor_accesses_use_their_own_TLB()
    {
        // Paging off: every access is allowed, at any CPL, and fills the TLB of its privilege.
        using var twin = TierTwin.Mmu(paging: false, p => p.WriteBytes(DataBase, RandomBytes(0x2000, 8)));
        var block = AccessBlock(IrType.I64);
        for (int run = 0; run < 6; run++)
        {
            int cpl = run % 3 == 2 ? 0 : 3;
            Reset(twin, DataBase + 0x100 + (ulong)run * 8, (ulong)run, cpl);
            twin.Run(block, $"CPL {cpl}, run {run}");
        }
    }

    [Fact]
    public void After_a_system_instruction_lowers_the_privilege_the_user_TLB_decides()
    {
        // The identity map is supervisor-only: at CPL 0 the load fills the supervisor entry; once a
        // system instruction has switched to CPL 3 the same address must fault (U/S), not hit.
        using var twin = TierTwin.Mmu(paging: true);
        var block = Block(ir =>
        {
            var address = ir.GetReg(GuestReg.Rsi);
            ir.PutReg(GuestReg.Rax, ir.Load(IrType.I64, address));
            ir.Guest = 1;
            ir.System(SystemOp.Swapgs, IrValue.None, IrValue.None);
            ir.Guest = 2;
            ir.PutReg(GuestReg.Rbx, ir.Load(IrType.I64, address));
            ir.Exit(0x5000);
        }, 3);
        var interpreter = new IrInterpreter(twin.Interp.Memory, new EnterUserMode());
        var compiled = new IlCompiler(new JitRuntime(twin.Jit.Memory, new EnterUserMode())).Compile(block);
        for (int run = 0; run < 2; run++)
        {
            Reset(twin, DataBase + 0x40, 0);
            var expected = interpreter.Execute(block, twin.Interp.State);
            var actual = compiled.Execute(twin.Jit.State);
            TierTwin.AssertSameResult(expected, actual, $"run {run}");
            twin.AssertSameState($"run {run}");
            Assert.Equal(ExceptionVector.PageFault, actual.Fault.Vector);
            Assert.Equal(2, actual.Retired);
        }
    }

    [Fact]
    public void A_trace_entered_at_CPL_3_starts_with_the_user_TLB()
    {
        // The identity map is supervisor-only. A load at CPL 0 fills the supervisor TLB's entry for
        // the address; a trace compiled for CPL 3 takes the user TLB as a constant, so there the same
        // load misses and faults (U/S), as in the interpreter, instead of hitting the kernel's entry.
        using var twin = TierTwin.Mmu(paging: true);
        var block = AccessBlock(IrType.I64);
        const ulong address = DataBase + 0x80;
        Reset(twin, address, 1, cpl: 0);
        twin.Run(block, "CPL 0 fills the supervisor entry");
        var trace = twin.Jit.Compiler.CompileTrace([block], entryCpl: 3);
        var kernelTrace = twin.Jit.Compiler.CompileTrace([block], entryCpl: 0);
        for (int run = 0; run < 2; run++)
        {
            Reset(twin, address, 2, cpl: 3);
            var expected = twin.Interp.Interpreter.Execute(block, twin.Interp.State);
            var actual = trace.Execute(twin.Jit.State);
            TierTwin.AssertSameResult(expected, actual, $"CPL 3, run {run}");
            twin.AssertSameState($"CPL 3, run {run}");
            Assert.Equal(ExceptionVector.PageFault, actual.Fault.Vector);

            Reset(twin, address, 3, cpl: 0);
            expected = twin.Interp.Interpreter.Execute(block, twin.Interp.State);
            actual = kernelTrace.Execute(twin.Jit.State);
            TierTwin.AssertSameResult(expected, actual, $"CPL 0, run {run}");
            twin.AssertSameState($"CPL 0, run {run}");
            Assert.Equal(BlockEnd.Exit, actual.End);
        }
    }

    [Fact]
    public void Stores_to_a_watched_code_page_take_the_slow_path_and_raise_the_event_first()
    {
        using var twin = TierTwin.Mmu(paging: true);
        var events = new List<ulong>[2];
        var sides = new[] { twin.Interp, twin.Jit };
        for (int i = 0; i < 2; i++)
        {
            var log = events[i] = new List<ulong>();
            var physical = sides[i].Physical!;
            physical.WatchCodePage(DataBase + 0x1000);
            physical.CodePageWritten += (in CodePageWrite w) => log.Add(w.PhysicalAddress);
        }
        var block = AccessBlock(IrType.I32);
        for (int run = 0; run < 3; run++)
        {
            // Alternate a watched and an unwatched page.
            ulong address = DataBase + 0x1000 * (ulong)(1 - run % 2) + 0x20;
            Reset(twin, address, (ulong)run);
            twin.Run(block, $"store to {address:x}");
        }
        Assert.Equal(events[0], events[1]);
        Assert.Equal(2, events[1].Count);
    }

    [Fact]
    public void A_miss_hands_the_rest_of_the_block_to_the_interpreter_with_the_temps_it_reads()
    {
        // Instruction 0 computes a sum and a comparison that instruction 1's load (a miss on the
        // first run, a hit on the second) does not use but the ops after it do: the sum is a temp
        // in a local, the comparison is emitted only at its branch. Both must reach the interpreter.
        using var twin = TierTwin.Mmu(paging: true, p => p.WriteBytes(DataBase, RandomBytes(0x2000, 9)));
        var block = Block(ir =>
        {
            var a = ir.GetReg(GuestReg.Rdi);
            var b = ir.GetReg(GuestReg.Rbx);
            var sum = ir.Add(a, b);
            var below = ir.Compare(IrOpcode.CmpLtU, a, b);
            ir.Guest = 1;
            var loaded = ir.Load(IrType.I64, ir.GetReg(GuestReg.Rsi));
            ir.PutReg(GuestReg.Rcx, ir.Add(loaded, sum));
            ir.ExitIf(below, 0x6000);
            ir.Exit(0x5000);
        }, 2);
        var runtime = twin.Jit.Runtime;
        foreach (ulong rbx in new ulong[] { 5, 0x7000 })
        {
            long resumesBefore = runtime.InterpreterResumes;
            for (int run = 0; run < 2; run++)
            {
                // A fresh page each time round, so the first run misses.
                Reset(twin, DataBase + (rbx == 5 ? 0x100UL : 0x1100UL), 0x1000 + (ulong)run);
                twin.SetState(s => s[GuestReg.Rbx] = rbx);
                twin.Run(block, $"rbx {rbx:x}, run {run}");
            }
            Assert.Equal(resumesBefore + 1, runtime.InterpreterResumes);
        }
    }

    [Fact]
    public void A_miss_in_a_later_block_of_a_trace_finishes_that_block_in_the_interpreter()
    {
        // The second block's load misses: the first block's count is on the clock (its boundary
        // stored it), the second block is finished by the interpreter and its result is the trace's.
        using var twin = TierTwin.Mmu(paging: true, p => p.WriteBytes(DataBase, RandomBytes(0x2000, 10)));
        var first = Block(ir =>
        {
            ir.PutReg(GuestReg.Rbx, ir.Add(ir.GetReg(GuestReg.Rbx), ir.Const64(3)));
            ir.Exit(IrTestKit.CodeBase + 0x40);
        }, 1);
        var (second, ir2) = IrTestKit.NewBlock(2, IrTestKit.CodeBase + 0x40);
        var kept = ir2.Add(ir2.GetReg(GuestReg.Rbx), ir2.Const64(1));
        ir2.Guest = 1;
        ir2.PutReg(GuestReg.Rcx, ir2.Add(ir2.Load(IrType.I64, ir2.GetReg(GuestReg.Rsi)), kept));
        ir2.Exit(0x5000);
        IrVerifier.ThrowIfInvalid(second, "test");
        var trace = twin.Jit.Compiler.CompileTrace([first, second], entryCpl: 0);
        twin.Jit.Runtime.Budget.StopRetired = ulong.MaxValue; // no reason to leave at the boundary
        for (int run = 0; run < 2; run++)
        {
            Reset(twin, DataBase + 0x200, 0);
            twin.SetState(s => s[GuestReg.Rbx] = 0x40 + (ulong)run);
            var expected = twin.Interp.Interpreter.Execute(first, twin.Interp.State);
            expected = twin.Interp.Interpreter.Execute(second, twin.Interp.State);
            long resumesBefore = twin.Jit.Runtime.InterpreterResumes;
            var actual = trace.Execute(twin.Jit.State);
            TierTwin.AssertSameResult(expected, actual, $"run {run}");
            twin.AssertSameState($"run {run}");
            Assert.Equal(1, trace.ExitSection);
            Assert.Equal(resumesBefore + (run == 0 ? 1 : 0), twin.Jit.Runtime.InterpreterResumes);
        }
    }

    /// <summary>Instruction 0 loads [RSI] into RCX, instruction 1 stores RDI's low bits to [RSI + 8], instruction 2 writes RBX.</summary>
    private static IrBlock AccessBlock(IrType type) => Block(ir =>
    {
        var address = ir.GetReg(GuestReg.Rsi);
        ir.PutReg(GuestReg.Rcx, ir.ZExt(IrType.I64, ir.Load(type, address)));
        ir.Guest = 1;
        ir.Store(ir.Add(address, ir.Const64(8)), ir.Trunc(type, ir.GetReg(GuestReg.Rdi)));
        ir.Guest = 2;
        ir.PutReg(GuestReg.Rbx, ir.Const64(0xb0b));
        ir.Exit(0x5000);
    }, 3);

    private static IrBlock Block(Action<IrBuilder> build, int instructions)
    {
        var (block, ir) = IrTestKit.NewBlock(instructions);
        build(ir);
        IrVerifier.ThrowIfInvalid(block, "test");
        return block;
    }

    private static void Reset(TierTwin twin, ulong address, ulong value, int cpl = 0) => twin.SetState(s =>
    {
        s.Slots.AsSpan().Clear();
        s[GuestReg.Rsi] = address;
        s[GuestReg.Rdi] = value;
        s.Rip = IrTestKit.CodeBase;
        s.Cpl = cpl;
    });

    private static byte[] RandomBytes(int count, int seed)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>A system instruction that drops to CPL 3 and goes on.</summary>
    private sealed class EnterUserMode : ISystemInstructions
    {
        public SystemOutcome Execute(SystemOp op, VcpuState state, IGuestMemory memory, ulong a, ulong b, out ulong result, out GuestFault fault)
        {
            state.Cpl = 3;
            result = 0;
            fault = default;
            return SystemOutcome.Continue;
        }
    }
}
