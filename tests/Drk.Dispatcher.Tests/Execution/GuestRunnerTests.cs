using Drk.Dispatcher.Execution;
using Drk.Hv.Cpu;
using Drk.Hv.Memory;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Drk.Dispatcher.Tests.Execution;

/// <summary>The decode -> lower -> optimise -> interpret loop: stop address, budget, exceptions, precision, the block cache.</summary>
public sealed class GuestRunnerTests
{
    private const ulong DataBase = 0x60_0000;
    private const ulong StackTop = 0x80_0000;

    private sealed class Guest
    {
        public readonly FlatMemory Memory = new();
        public readonly VcpuState State = new();
        public readonly byte[] Code;
        public readonly byte[] Data = new byte[0x1000];
        public readonly GuestRunner Runner;

        public Guest(Action<Assembler> emit, ISystemInstructions? system = null)
        {
            Code = IrTestKit.Assemble(emit);
            Memory.Map(IrTestKit.CodeBase, Code, writable: false);
            Memory.Map(DataBase, Data);
            Memory.Map(StackTop - 0x1000, new byte[0x1000], executable: false);
            Runner = new GuestRunner(Memory, system);
            State.Rip = IrTestKit.CodeBase;
            State[GuestReg.Rsp] = StackTop - 0x100;
            State.Slots[GuestReg.FlagsOther] = 2;
        }

        public ulong End => IrTestKit.CodeBase + (ulong)Code.Length;

        public ulong RipOf(int n) => IrTestKit.Decode(Code)[n].Rip;

        public RunStatus Run(out GuestFault fault, long budget = 10_000) => Runner.Run(State, End, budget, out fault);
    }

    [Fact]
    public void Runs_a_loop_to_the_stop_address()
    {
        var g = new Guest(a =>
        {
            var loop = a.CreateLabel();
            a.mov(ecx, 10);
            a.xor(eax, eax);
            a.Label(ref loop);
            a.add(rax, rcx);
            a.dec(ecx);
            a.jne(loop);
        });
        Assert.Equal(RunStatus.Stopped, g.Run(out _));
        Assert.Equal(55UL, g.State[GuestReg.Rax]);
        Assert.Equal(0UL, g.State[GuestReg.Rcx]);
        Assert.Equal(g.End, g.State.Rip);
        Assert.Equal(2 + 3 * 10, g.Runner.Retired);
        Assert.Equal(32UL, g.State.InstructionsRetired);
    }

    [Fact]
    public void A_faulting_load_leaves_the_state_before_its_instruction()
    {
        var g = new Guest(a =>
        {
            a.mov(rax, 1);
            a.push(rax);
            a.mov(rbx, __qword_ptr[0x7000_0000]);
            a.mov(rcx, 2);
        });
        g.State[GuestReg.Rbx] = 0x77;
        ulong rsp = g.State[GuestReg.Rsp];
        Assert.Equal(RunStatus.Exception, g.Run(out var fault));
        Assert.Equal(ExceptionVector.PageFault, fault.Vector);
        Assert.Equal(0x7000_0000UL, fault.Cr2);
        Assert.Equal(g.RipOf(2), fault.Rip);
        Assert.Equal(g.RipOf(2), g.State.Rip);
        Assert.Equal(1UL, g.State[GuestReg.Rax]);
        Assert.Equal(0x77UL, g.State[GuestReg.Rbx]);
        Assert.Equal(0UL, g.State[GuestReg.Rcx]);
        Assert.Equal(rsp - 8, g.State[GuestReg.Rsp]);
        Assert.Equal(2, g.Runner.Retired);
    }

    [Fact]
    public void A_faulting_push_leaves_rsp_unchanged()
    {
        var g = new Guest(a => { a.mov(rax, 5); a.push(rax); });
        g.State[GuestReg.Rsp] = 0x9000_0000;
        Assert.Equal(RunStatus.Exception, g.Run(out var fault));
        Assert.Equal(ExceptionVector.PageFault, fault.Vector);
        Assert.Equal(2u, fault.ErrorCode & 2);
        Assert.Equal(g.RipOf(1), fault.Rip);
        Assert.Equal(0x9000_0000UL, g.State[GuestReg.Rsp]);
        Assert.Equal(5UL, g.State[GuestReg.Rax]);
    }

    [Fact]
    public void Divide_by_zero_raises_divide_error_before_changing_state()
    {
        var g = new Guest(a => { a.mov(eax, 100); a.xor(edx, edx); a.xor(ecx, ecx); a.div(ecx); });
        Assert.Equal(RunStatus.Exception, g.Run(out var fault));
        Assert.Equal(ExceptionVector.DivideError, fault.Vector);
        Assert.Equal(g.RipOf(3), fault.Rip);
        Assert.Equal(100UL, g.State[GuestReg.Rax]);
        Assert.Equal(3, g.Runner.Retired);
    }

    [Fact]
    public void The_budget_is_exact()
    {
        var g = new Guest(a => { for (int i = 0; i < 100; i++) a.nop(); });
        Assert.Equal(RunStatus.BudgetExhausted, g.Run(out _, budget: 10));
        Assert.Equal(10, g.Runner.Retired);
        Assert.Equal(IrTestKit.CodeBase + 10, g.State.Rip);
        Assert.Equal(RunStatus.BudgetExhausted, g.Run(out _, budget: 70));
        Assert.Equal(80, g.Runner.Retired);
        Assert.Equal(RunStatus.Stopped, g.Run(out _));
        Assert.Equal(100, g.Runner.Retired);
    }

    [Fact]
    public void Execution_stops_at_a_stop_address_inside_a_block()
    {
        var g = new Guest(a => { a.mov(rax, 1); a.mov(rbx, 2); a.mov(rcx, 3); a.mov(rdx, 4); });
        // Build the whole block first, so the cached block spans the stop address.
        Assert.Equal(RunStatus.Stopped, g.Run(out _));
        g.State.Rip = IrTestKit.CodeBase;
        g.State[GuestReg.Rcx] = 0;
        Assert.Equal(RunStatus.Stopped, g.Runner.Run(g.State, g.RipOf(2), 100, out _));
        Assert.Equal(g.RipOf(2), g.State.Rip);
        Assert.Equal(0UL, g.State[GuestReg.Rcx]);
    }

    [Fact]
    public void Without_system_instructions_cpuid_is_invalid_opcode_with_its_bytes()
    {
        var g = new Guest(a => { a.nop(); a.cpuid(); });
        Assert.Equal(RunStatus.Exception, g.Run(out var fault));
        Assert.Equal(ExceptionVector.InvalidOpcode, fault.Vector);
        Assert.Equal(g.RipOf(1), fault.Rip);
        Assert.Equal(new byte[] { 0x0f, 0xa2 }, fault.Bytes);
        Assert.Equal(1, g.Runner.Retired);
    }

    [Fact]
    public void Undecodable_bytes_are_invalid_opcode_with_their_bytes()
    {
        var g = new Guest(a => { a.nop(); a.db(0x06); });
        Assert.Equal(RunStatus.Exception, g.Run(out var fault));
        Assert.Equal(ExceptionVector.InvalidOpcode, fault.Vector);
        Assert.Equal(IrTestKit.CodeBase + 1, fault.Rip);
        Assert.Equal(new byte[] { 0x06 }, fault.Bytes);
    }

    [Fact]
    public void Sse_instructions_are_invalid_opcode()
    {
        var g = new Guest(a => a.addps(xmm0, xmm1));
        Assert.Equal(RunStatus.Exception, g.Run(out var fault));
        Assert.Equal(ExceptionVector.InvalidOpcode, fault.Vector);
        Assert.Equal(IrTestKit.CodeBase, fault.Rip);
    }

    [Fact]
    public void Int3_is_an_exception_whose_rip_is_the_return_address()
    {
        var g = new Guest(a => { a.int3(); a.nop(); });
        Assert.Equal(RunStatus.Exception, g.Run(out var fault));
        Assert.Equal(ExceptionVector.Breakpoint, fault.Vector);
        Assert.Equal(IrTestKit.CodeBase + 1, fault.Rip);
        Assert.Equal(IrTestKit.CodeBase + 1, g.State.Rip);
        Assert.Equal(1, g.Runner.Retired);
    }

    [Fact]
    public void Hlt_halts_past_the_instruction()
    {
        var system = new ScriptedSystemInstructions { Outcome = SystemOutcome.Halt };
        var g = new Guest(a => { a.nop(); a.hlt(); a.nop(); }, system);
        Assert.Equal(RunStatus.Halted, g.Run(out _));
        Assert.Equal(IrTestKit.CodeBase + 2, g.State.Rip);
        Assert.Equal(2, g.Runner.Retired);
    }

    [Fact]
    public void A_jump_to_unmapped_code_is_a_fetch_page_fault_at_the_target()
    {
        var g = new Guest(a => a.jmp(0x50_0000));
        Assert.Equal(RunStatus.Exception, g.Run(out var fault));
        Assert.Equal(ExceptionVector.PageFault, fault.Vector);
        Assert.Equal(0x10u, fault.ErrorCode & 0x10);
        Assert.Equal(0x50_0000UL, fault.Rip);
        Assert.Equal(0x50_0000UL, fault.Cr2);
        Assert.Equal(0x50_0000UL, g.State.Rip);
        Assert.Equal(1, g.Runner.Retired);
    }

    [Fact]
    public void Blocks_are_built_once_and_rebuilt_after_a_flush()
    {
        var g = new Guest(a => { a.mov(rax, 1); a.jmp(IrTestKit.CodeBase + 0x20); for (int i = 0; i < 0x20; i++) a.nop(); });
        Assert.Equal(RunStatus.Stopped, g.Run(out _));
        long built = g.Runner.BlocksBuilt;
        Assert.Equal(2, built);
        g.State.Rip = IrTestKit.CodeBase;
        Assert.Equal(RunStatus.Stopped, g.Run(out _));
        Assert.Equal(built, g.Runner.BlocksBuilt);
        g.Runner.FlushBlocks();
        g.State.Rip = IrTestKit.CodeBase;
        Assert.Equal(RunStatus.Stopped, g.Run(out _));
        Assert.Equal(2 * built, g.Runner.BlocksBuilt);
    }

    [Fact]
    public void Blocks_are_kept_per_privilege_level()
    {
        var g = new Guest(a => { a.nop(); a.nop(); });
        Assert.Equal(RunStatus.Stopped, g.Run(out _));
        g.State.Rip = IrTestKit.CodeBase;
        g.State.Cpl = 3;
        Assert.Equal(RunStatus.Stopped, g.Run(out _));
        Assert.Equal(2, g.Runner.BlocksBuilt);
    }
}
