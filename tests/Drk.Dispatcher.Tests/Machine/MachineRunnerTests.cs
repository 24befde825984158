using Drk.Dispatcher.Execution;
using Drk.Hv;
using Drk.Hv.Cpu;
using Drk.Hv.Memory;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Drk.Dispatcher.Tests.Machine;

/// <summary>
/// The run loop on small hand-assembled programs: code-cache keying under two address spaces,
/// invalidation on code writes (also by the executing block itself), precise faults, interrupts
/// at block boundaries and the STI shadow, HLT fast-forward, AP start-up, and every way a run stops.
/// </summary>
public sealed class MachineRunnerTests
{
    private const ulong Apic = TestMachine.ApicBase;
    private const ulong Data = TestMachine.DataBase;

    [Fact]
    public void The_same_virtual_code_address_in_two_address_spaces_runs_each_space_s_code()
    {
        using var m = new TestMachine();
        // Space B: a copy of the identity tables in which linear [6 MiB, 8 MiB) maps physical [8 MiB, 10 MiB).
        const ulong tablesB = 0x2_0000;
        for (ulong i = 0; i < 6 * 0x1000; i += 8) m.WritePhysical(tablesB + i, m.ReadPhysical(0x4000 + i));
        m.WritePhysical(tablesB, (tablesB + 0x1000) | 3);                     // PML4[0] -> PDPT copy
        m.WritePhysical(tablesB + 0x1000, (tablesB + 0x2000) | 3);            // PDPT[0] -> PD copy
        m.WritePhysical(tablesB + 0x2000 + 3 * 8, 0x80_0000 | 0x83);          // PD[3]: 6 MiB -> 8 MiB
        m.Load(0x60_0000, a => { a.mov(eax, 1); a.ret(); });
        m.Load(0x80_0000, a => { a.mov(eax, 2); a.ret(); });
        m.Load(TestMachine.CodeBase, a =>
        {
            a.mov(rsi, 0x60_0000UL);
            a.call(rsi);
            a.mov(ebx, eax);
            a.mov(rcx, tablesB);
            a.mov(cr3, rcx);
            a.call(rsi);
            a.shl(ebx, 4);
            a.add(ebx, eax);
            TestMachine.Exit(a, ebx);
        });
        m.Start();

        var result = m.Run();

        Assert.Equal(MachineStopReason.DebugExit, result.Reason);
        Assert.Equal(0x12, result.ExitStatus);
        Assert.NotNull(m.BspDispatcher.Cache.Lookup(0x60_0000, 0x60_0000, 0));
        Assert.NotNull(m.BspDispatcher.Cache.Lookup(0x60_0000, 0x80_0000, 0));
    }

    [Fact]
    public void Time_per_tier_samples_what_the_running_vcpu_does()
    {
        using var m = new TestMachine(options: new MachineRunOptions { SampleTiers = true, Tier = Drk.Dispatcher.Jit.ExecutionTier.Interpreter });
        m.Load(TestMachine.CodeBase, a =>
        {
            // A few tens of milliseconds of interpreted loop.
            var top = a.CreateLabel();
            a.mov(ecx, 3_000_000);
            a.Label(ref top);
            a.add(rbx, rcx);
            a.dec(ecx);
            a.jnz(top);
            TestMachine.Exit(a, 0);
        });
        m.Start();

        var result = m.Run();

        Assert.Equal(MachineStopReason.DebugExit, result.Reason);
        var samples = m.Runner.TierSamples!;
        long total = samples.Total;
        Assert.True(total >= 5, $"{total} samples in {result.Elapsed.TotalMilliseconds:F0} ms");
        // On the interpreter tier only the interpreter and the dispatch loop around it run.
        Assert.True(samples.Samples(TierSampler.Activity.Interpreter) > 0, $"none of {total} samples in the interpreter");
        Assert.Equal(total, samples.Samples(TierSampler.Activity.Interpreter) + samples.Samples(TierSampler.Activity.Dispatch));
    }

    [Fact]
    public void Code_written_between_two_runs_of_a_block_runs_in_its_new_form()
    {
        using var m = new TestMachine();
        const ulong function = TestMachine.CodeBase + 0x800;
        m.Load(function, a => { a.mov(eax, 1); a.ret(); });
        m.Load(TestMachine.CodeBase, a =>
        {
            a.mov(rsi, function);
            a.call(rsi);
            a.mov(ebx, eax);
            a.mov(__dword_ptr[rsi + 1], 2);   // the immediate of "mov eax, 1"
            a.call(rsi);
            a.shl(ebx, 4);
            a.add(ebx, eax);
            TestMachine.Exit(a, ebx);
        });
        m.Start();

        var result = m.Run();

        Assert.Equal(0x12, result.ExitStatus);
        Assert.True(result.FragmentsInvalidated >= 1);
        Assert.Equal(0, m.BspDispatcher.SelfModifyingRestarts);
    }

    [Fact]
    public void A_block_that_rewrites_its_own_next_instruction_runs_the_new_instruction()
    {
        using var m = new TestMachine();
        m.Load(TestMachine.CodeBase, a =>
        {
            var target = a.CreateLabel();
            a.lea(rcx, __[target]);
            a.mov(__byte_ptr[rcx + 1], 0x42);   // "mov eax, 0x11" becomes "mov eax, 0x42"
            a.Label(ref target);
            a.mov(eax, 0x11);
            a.@out(0xf4, eax);
        });
        m.Start();

        var result = m.Run();

        Assert.Equal(MachineStopReason.DebugExit, result.Reason);
        Assert.Equal(0x42, result.ExitStatus);
        Assert.Equal(1, m.BspDispatcher.SelfModifyingRestarts);
        Assert.Equal(4UL, m.Bsp.State.InstructionsRetired);
    }

    [Fact]
    public void A_block_writing_data_next_to_its_code_is_not_restarted()
    {
        using var m = new TestMachine();
        m.Load(TestMachine.CodeBase, a =>
        {
            var here = a.CreateLabel();
            a.Label(ref here);
            a.lea(rcx, __[here]);
            a.mov(__byte_ptr[rcx + 0x800], 0x42);
            a.movzx(eax, __byte_ptr[rcx + 0x800]);
            a.@out(0xf4, eax);
        });
        m.Start();

        var result = m.Run();

        Assert.Equal(0x42, result.ExitStatus);
        Assert.Equal(0, m.BspDispatcher.SelfModifyingRestarts);
    }

    [Fact]
    public void A_page_fault_is_delivered_with_the_state_before_the_faulting_instruction()
    {
        using var m = new TestMachine();
        const ulong handler = TestMachine.CodeBase + 0x800;
        const ulong unmapped = 0x7f00_0000_0000;
        m.Load(handler, a =>
        {
            a.mov(rax, __qword_ptr[rsp + 8]);   // RIP in the frame (the error code is at [rsp])
            a.mov(rdx, Data);
            a.mov(__qword_ptr[rdx], rax);
            a.mov(rax, cr2);
            a.mov(__qword_ptr[rdx + 8], rax);
            a.mov(__qword_ptr[rdx + 16], rbx);
            a.mov(rax, __qword_ptr[rsp]);
            a.mov(__qword_ptr[rdx + 24], rax);
            TestMachine.Exit(a, 7);
        });
        byte[] code = m.Load(TestMachine.CodeBase, a =>
        {
            a.mov(ebx, 5);
            a.mov(rcx, unmapped);
            a.mov(rax, __qword_ptr[rcx]);
            a.mov(ebx, 6);
            TestMachine.Exit(a, 1);
        });
        m.SetGate(14, handler);
        m.Start();

        var result = m.Run();

        Assert.Equal(7, result.ExitStatus);
        Assert.Equal(TestMachine.CodeBase + 5 + 10, m.ReadPhysical(Data));   // mov ebx (5 bytes), mov rcx (10 bytes)
        Assert.Equal(unmapped, m.ReadPhysical(Data + 8));
        Assert.Equal(5UL, m.ReadPhysical(Data + 16));
        Assert.Equal(0UL, m.ReadPhysical(Data + 24));                        // read, not present, supervisor
        Assert.True(code.Length > 15);
    }

    [Fact]
    public void An_interrupt_raised_inside_a_block_is_taken_at_its_end()
    {
        using var m = new TestMachine();
        const ulong handler = TestMachine.CodeBase + 0x800;
        m.Load(handler, a =>
        {
            a.mov(rax, __qword_ptr[rsp]);
            a.mov(rdx, Data);
            a.mov(__qword_ptr[rdx], rax);
            a.mov(__qword_ptr[rdx + 8], rbx);
            a.mov(rcx, Apic);
            a.mov(__dword_ptr[rcx + 0xB0], 0);   // EOI
            a.iretq();
        });
        m.Load(TestMachine.CodeBase, a =>
        {
            var next = a.CreateLabel();
            a.mov(rcx, Apic);
            a.mov(__dword_ptr[rcx + 0xF0], 0x1FF);     // SVR: enabled
            a.sti();                                    // ends its block
            a.nop();
            a.mov(__dword_ptr[rcx + 0x300], 0x40041);   // ICR: fixed vector 0x41 to self
            a.mov(ebx, 7);                              // same block: runs before the interrupt
            a.jmp(next);
            a.Label(ref next);
            a.lea(rdx, __[next]);
            a.mov(rsi, Data);
            a.cmp(rdx, __qword_ptr[rsi]);
            a.sete(al);
            a.movzx(eax, al);
            a.@out(0xf4, eax);
        });
        m.SetGate(0x41, handler);
        m.Start();

        var result = m.Run();

        Assert.Equal(1, result.ExitStatus);
        Assert.Equal(7UL, m.ReadPhysical(Data + 8));
    }

    [Fact]
    public void A_pending_interrupt_waits_for_the_instruction_after_sti_so_sti_hlt_wakes_after_the_hlt()
    {
        using var m = new TestMachine();
        const ulong handler = TestMachine.CodeBase + 0x800;
        m.Load(handler, a =>
        {
            a.mov(rax, __qword_ptr[rsp]);
            a.mov(rdx, Data);
            a.mov(__qword_ptr[rdx], rax);
            a.mov(rcx, Apic);
            a.mov(__dword_ptr[rcx + 0xB0], 0);
            a.iretq();
        });
        m.Load(TestMachine.CodeBase, a =>
        {
            var after = a.CreateLabel();
            a.mov(rcx, Apic);
            a.mov(__dword_ptr[rcx + 0xF0], 0x1FF);
            a.mov(__dword_ptr[rcx + 0x300], 0x40041);   // pending while IF = 0
            a.sti();
            a.hlt();
            a.Label(ref after);
            a.lea(rdx, __[after]);
            a.mov(rsi, Data);
            a.cmp(rdx, __qword_ptr[rsi]);
            a.sete(al);
            a.movzx(eax, al);
            a.@out(0xf4, eax);
        });
        m.SetGate(0x41, handler);
        m.Start();

        var result = m.Run();

        Assert.Equal(MachineStopReason.DebugExit, result.Reason);
        Assert.Equal(1, result.ExitStatus);
    }

    [Fact]
    public void Hlt_fast_forwards_the_clock_to_the_timer_deadline()
    {
        using var m = new TestMachine();
        const ulong handler = TestMachine.CodeBase + 0x800;
        m.Load(handler, a =>
        {
            a.mov(rcx, Apic);
            a.mov(__dword_ptr[rcx + 0xB0], 0);
            a.iretq();
        });
        m.Load(TestMachine.CodeBase, a =>
        {
            a.mov(rcx, Apic);
            a.mov(__dword_ptr[rcx + 0xF0], 0x1FF);
            a.mov(__dword_ptr[rcx + 0x3E0], 0xB);         // divide by 1
            a.mov(__dword_ptr[rcx + 0x320], 0x40);        // one-shot, vector 0x40
            a.mov(__dword_ptr[rcx + 0x380], 5_000_000);   // 5 ms
            a.sti();
            a.hlt();
            TestMachine.Exit(a, 3);
        });
        m.SetGate(0x40, handler);
        m.Start();

        var result = m.Run();

        Assert.Equal(3, result.ExitStatus);
        var state = m.Bsp.State;
        Assert.True(state.InstructionsRetired < 30, $"retired {state.InstructionsRetired}");
        Assert.InRange(state.Ticks, 5_000_000UL, 5_000_100UL);
    }

    [Fact]
    public void Lretq_pops_rip_and_cs_and_a_null_selector_is_a_general_protection_fault()
    {
        using var m = new TestMachine();
        const ulong handler = TestMachine.CodeBase + 0x800;
        m.Load(handler, a =>
        {
            a.mov(rax, __qword_ptr[rsp + 8]);   // RIP of the faulting LRETQ
            a.mov(rdx, Data);
            a.mov(__qword_ptr[rdx + 8], rax);
            a.mov(rax, __qword_ptr[rsp]);       // error code
            a.mov(__qword_ptr[rdx + 16], rax);
            TestMachine.Exit(a, 9);
        });
        m.Load(TestMachine.CodeBase, a =>
        {
            var far = a.CreateLabel();
            a.push(0x08);
            a.lea(rax, __[far]);
            a.push(rax);
            a.db(0x48, 0xCB);                    // LRETQ
            a.ud2();
            a.Label(ref far);
            a.mov(rdx, Data);
            a.mov(__qword_ptr[rdx], rsp);
            a.push(0);                           // null CS: #GP(0)
            a.push(rax);
            a.db(0x48, 0xCB);                    // LRETQ
        });
        m.SetGate(13, handler);
        m.Start();

        var result = m.Run();

        Assert.Equal(9, result.ExitStatus);
        Assert.Equal(TestMachine.StackTop, m.ReadPhysical(Data));           // both slots popped
        Assert.Equal(0UL, m.ReadPhysical(Data + 16));
        Assert.Equal(0x08, m.Bsp.State.Sys.Cs);
    }

    [Fact]
    public void Cli_hlt_with_no_timer_is_a_deadlock_with_a_dump()
    {
        using var m = new TestMachine();
        m.Load(TestMachine.CodeBase, a => { a.cli(); a.hlt(); });
        m.Start();

        var result = m.Run();

        Assert.Equal(MachineStopReason.Deadlock, result.Reason);
        Assert.Contains("vCPU 0 (halted)", result.Dump);
        Assert.Contains("Halt", result.Dump);
    }

    [Fact]
    public void An_exception_with_an_empty_idt_is_a_triple_fault_with_registers_and_recent_blocks()
    {
        using var m = new TestMachine();
        m.Load(TestMachine.CodeBase, a => { a.mov(eax, 0x1234); a.jmp(TestMachine.CodeBase + 0x100); });
        m.Load(TestMachine.CodeBase + 0x100, a => a.ud2());
        m.Start();
        m.Bsp.State.Sys.Idtr = new DescriptorTableRegister(0, 0);

        var result = m.Run();

        Assert.Equal(MachineStopReason.TripleFault, result.Reason);
        Assert.Contains("rax=0000000000001234", result.Dump);
        Assert.Contains($"{TestMachine.CodeBase:x16}   2 insns  Exit", result.Dump);
        Assert.Contains($"{TestMachine.CodeBase + 0x100:x16}   0 insns  Fault", result.Dump);
    }

    [Fact]
    public void A_runaway_loop_stops_at_the_instruction_budget()
    {
        using var m = new TestMachine(options: new MachineRunOptions { MaxInstructions = 100_000 });
        m.Load(TestMachine.CodeBase, a => { var self = a.CreateLabel(); a.Label(ref self); a.jmp(self); });
        m.Start();

        var result = m.Run();

        Assert.Equal(MachineStopReason.Budget, result.Reason);
        Assert.Equal(100_000UL, result.InstructionsRetired);
        Assert.Contains("instruction budget", result.Summary);
    }

    [Fact]
    public void A_handler_that_faults_forever_is_a_fault_loop()
    {
        using var m = new TestMachine(options: new MachineRunOptions { MaxStalledBlocks = 500 });
        const ulong handler = TestMachine.CodeBase + 0x800;
        m.Load(handler, a => a.ud2());
        m.Load(TestMachine.CodeBase, a => a.ud2());
        m.SetGate(6, handler);
        m.Start();

        var result = m.Run();

        Assert.Equal(MachineStopReason.FaultLoop, result.Reason);
        Assert.Equal(0UL, result.InstructionsRetired);
    }

    [Fact]
    public void A_host_exception_inside_the_loop_becomes_an_internal_error_stop_with_a_dump()
    {
        using var m = new TestMachine();
        m.Machine.Memory.CodePageWritten += (in CodePageWrite _) => throw new InvalidOperationException("boom");
        m.Load(TestMachine.CodeBase, a =>
        {
            var here = a.CreateLabel();
            a.Label(ref here);
            a.lea(rcx, __[here]);
            a.mov(__byte_ptr[rcx + 0x100], 1);
            TestMachine.Exit(a, 0);
        });
        m.Start();

        var result = m.Run();

        Assert.Equal(MachineStopReason.InternalError, result.Reason);
        Assert.IsType<InvalidOperationException>(result.Error);
        Assert.Contains("boom", result.Summary);
        Assert.Contains("vCPU 0 (running)", result.Dump);
    }

    [Fact]
    public void A_startup_ipi_to_a_page_with_the_trampoline_header_starts_the_ap_at_its_64_bit_entry()
    {
        var first = RunTwoCpus(withHeader: true);
        var second = RunTwoCpus(withHeader: true);

        Assert.Equal(0x5a, first.Status);
        Assert.Equal(first.Retired, second.Retired);
        Assert.True(first.Retired[1] > 0);
        Assert.Equal(first.Ticks, second.Ticks);
    }

    [Fact]
    public void A_startup_ipi_without_the_header_leaves_the_ap_down()
    {
        var run = RunTwoCpus(withHeader: false);

        Assert.Equal(0xee, run.Status);
        Assert.Equal(0UL, run.Retired[1]);
        Assert.Contains(run.Log, l => l.Contains("DRKSMPv1", StringComparison.Ordinal));
    }

    private static (int Status, ulong[] Retired, ulong[] Ticks, IReadOnlyList<string> Log) RunTwoCpus(bool withHeader)
    {
        using var m = new TestMachine(cpus: 2);
        const ulong apEntry = TestMachine.CodeBase + 0x800;
        m.Load(apEntry, a =>
        {
            a.mov(rdx, Data);
            a.mov(__dword_ptr[rdx], 0x5a);
            a.cli();
            a.hlt();
        });
        m.Load(TestMachine.CodeBase, a =>
        {
            var wait = a.CreateLabel();
            var done = a.CreateLabel();
            a.mov(rcx, Apic);
            a.mov(__dword_ptr[rcx + 0xF0], 0x1FF);
            a.mov(__dword_ptr[rcx + 0x310], 1 << 24);   // destination: APIC ID 1
            a.mov(__dword_ptr[rcx + 0x300], 0x4500);    // INIT, assert
            a.mov(__dword_ptr[rcx + 0x300], 0x4608);    // STARTUP, page 0x8000
            a.mov(rdx, Data);
            a.mov(esi, 100_000);
            a.Label(ref wait);
            a.mov(eax, __dword_ptr[rdx]);
            a.test(eax, eax);
            a.jne(done);
            a.pause();
            a.dec(esi);
            a.jne(wait);
            a.mov(eax, 0xee);
            a.Label(ref done);
            a.@out(0xf4, eax);
        });
        if (withHeader)
        {
            m.WritePhysical(0x8008, TrampolineHeader.Magic);
            m.WritePhysical(0x8010, apEntry);
            m.WritePhysical(0x8018, m.Cr3);
            m.WritePhysical(0x8020, 0x7_0000);
        }
        m.Start();

        var result = m.Run();

        Assert.Equal(MachineStopReason.DebugExit, result.Reason);
        return (result.ExitStatus,
            [m.Machine.Vcpus[0].State.InstructionsRetired, m.Machine.Vcpus[1].State.InstructionsRetired],
            [m.Machine.Vcpus[0].State.Ticks, m.Machine.Vcpus[1].State.Ticks],
            m.Machine.Log.Entries);
    }
}
