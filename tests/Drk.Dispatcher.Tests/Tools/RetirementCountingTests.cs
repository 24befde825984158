using Drk.Dispatcher.Execution;
using Drk.Dispatcher.IR;
using Drk.Dispatcher.Tests.Jit;
using Drk.Hv.Cpu;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Drk.Dispatcher.Tests.Tools;

/// <summary>
/// <see cref="Drk.Dispatcher.Tools.InstrumentedBlock.CountRetiredInstructions"/> adds to its
/// counter exactly what the block retires, in both tiers, whichever way the block leaves: a
/// fault at instruction k, a taken or untaken conditional exit, a REP string instruction at
/// each step of its count, a division by zero, an undefined opcode.
/// </summary>
public sealed class RetirementCountingTests
{
    /// <summary>Instructions 1, 3 and 4 access memory (a load, a store, a push); the block has 7.</summary>
    private static readonly Action<Assembler> Straight = a =>
    {
        a.mov(eax, 1);
        a.mov(rdx, __qword_ptr[rsi]);
        a.add(rdx, rax);
        a.mov(__qword_ptr[rdi], rdx);
        a.push(rdx);
        a.inc(ecx);
        a.jmp(ToolBlockKit.Elsewhere);
    };

    /// <summary>Runs the counted block once on both tiers from the state <paramref name="setup"/> makes; asserts counter = retired on each and returns the result.</summary>
    private static BlockResult RunCounted(Action<Assembler> code, Action<VcpuState>? setup, string where, TierTwin? shared = null,
        Action<TierTwin>? script = null)
    {
        var view = ToolBlockKit.View(ToolBlockKit.Lower(code));
        view.CountRetiredInstructions(0);
        var block = view.Finish();
        Assert.Empty(IrVerifier.Verify(block));
        var twin = shared ?? ToolBlockKit.NewTwin();
        try
        {
            if (twin.Interp.Counters.Count == 0)
            {
                twin.Interp.Counters.Allocate("retired");
                twin.Jit.Counters.Allocate("retired");
            }
            ToolBlockKit.Reset(twin, setup);
            script?.Invoke(twin);
            long interpBefore = twin.Interp.Counters[0], jitBefore = twin.Jit.Counters[0];
            var result = twin.Run(block, where);
            Assert.True(twin.Interp.Counters[0] - interpBefore == result.Retired,
                $"{where}: interpreter counted {twin.Interp.Counters[0] - interpBefore}, the block retired {result.Retired} ({result})\n{IrPrinter.Format(block)}");
            Assert.True(twin.Jit.Counters[0] - jitBefore == result.Retired,
                $"{where}: compiled code counted {twin.Jit.Counters[0] - jitBefore}, the block retired {result.Retired} ({result})\n{IrPrinter.Format(block)}");
            return result;
        }
        finally
        {
            if (shared is null) twin.Dispose();
        }
    }

    [Fact]
    public void A_block_that_runs_through_counts_all_its_instructions()
    {
        var result = RunCounted(Straight, null, "no fault");

        Assert.Equal(BlockEnd.Exit, result.End);
        Assert.Equal(7, result.Retired);
    }

    [Theory]
    [InlineData(1, GuestReg.Rsi)]   // the load
    [InlineData(3, GuestReg.Rdi)]   // the store
    [InlineData(4, GuestReg.Rsp)]   // the push
    public void A_fault_at_instruction_k_counts_the_k_before_it(int k, int pointer)
    {
        var result = RunCounted(Straight, s => s[pointer] = ToolBlockKit.Unmapped + 8, $"fault at {k}");

        Assert.Equal(BlockEnd.Fault, result.End);
        Assert.Equal(ExceptionVector.PageFault, (ExceptionVector)result.Fault.Vector);
        Assert.Equal(k, result.Retired);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_conditional_exit_counts_the_branch_taken_or_not(bool taken)
    {
        var result = RunCounted(a => { a.mov(edx, 2); a.cmp(rax, rbx); a.jne(ToolBlockKit.Elsewhere); },
            s => s[GuestReg.Rbx] = taken ? 5 : s[GuestReg.Rax], $"taken={taken}");

        Assert.Equal(3, result.Retired);
    }

    [Theory]
    [InlineData(0UL, false)]
    [InlineData(1UL, false)]
    [InlineData(3UL, false)]
    [InlineData(3UL, true)]
    public void A_rep_string_instruction_after_another_counts_each_step(ulong count, bool sourceUnmapped)
    {
        // The first test of RCX leaves before the copy could fault: its count must be conditional.
        var result = RunCounted(a => { a.mov(edx, 7); a.rep.movsb(); }, s =>
        {
            s[GuestReg.Rcx] = count;
            if (sourceUnmapped) s[GuestReg.Rsi] = ToolBlockKit.Unmapped;
        }, $"rep movsb, rcx={count}, fault={sourceUnmapped}");

        Assert.Equal(sourceUnmapped ? 1 : 2, result.Retired);
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(1UL)]
    [InlineData(5UL)]
    public void A_rep_string_instruction_run_to_its_end_counts_one_per_step(ulong count)
    {
        using var twin = ToolBlockKit.NewTwin();
        var view = ToolBlockKit.View(ToolBlockKit.Lower(a => a.rep.stosq()));
        view.CountRetiredInstructions(twin.Interp.Counters.Allocate("retired"));
        twin.Jit.Counters.Allocate("retired");
        var block = view.Finish();
        ToolBlockKit.Reset(twin, s => s[GuestReg.Rcx] = count);
        long retired = 0;
        int runs = 0;
        do
        {
            retired += twin.Run(block, $"rep stosq, rcx={count}, step {runs}").Retired;
            runs++;
        } while (twin.Interp.State.Rip == ToolBlockKit.CodeBase && runs < 100);

        Assert.Equal((long)Math.Max(count, 1), retired);
        Assert.Equal(retired, twin.Interp.Counters[0]);
        Assert.Equal(retired, twin.Jit.Counters[0]);
    }

    [Fact]
    public void A_division_by_zero_counts_the_instructions_before_it()
    {
        var result = RunCounted(a => { a.mov(eax, 1); a.xor(edx, edx); a.xor(ecx, ecx); a.div(ecx); a.jmp(ToolBlockKit.Elsewhere); }, null, "div 0");

        Assert.Equal(ExceptionVector.DivideError, (ExceptionVector)result.Fault.Vector);
        Assert.Equal(3, result.Retired);
    }

    [Fact]
    public void An_undefined_opcode_counts_the_instructions_before_it()
    {
        var result = RunCounted(a => { a.nop(); a.mov(eax, 1); a.ud2(); }, null, "ud2");

        Assert.Equal(ExceptionVector.InvalidOpcode, (ExceptionVector)result.Fault.Vector);
        Assert.Equal(2, result.Retired);
    }

    /// <summary>System instructions with each outcome the hypervisor gives them (docs: SystemOp): counted before they leave, not when they fault.</summary>
    public static TheoryData<string, SystemOutcome, BlockEnd> SystemForms => new()
    {
        { "out", SystemOutcome.Continue, BlockEnd.Exit },
        { "out", SystemOutcome.Stop, BlockEnd.Stop },
        { "in", SystemOutcome.Continue, BlockEnd.Exit },
        { "hlt", SystemOutcome.Halt, BlockEnd.Halt },
        { "iretq", SystemOutcome.Jump, BlockEnd.SystemJump },
        { "sysretq", SystemOutcome.Jump, BlockEnd.SystemJump },
        { "syscall", SystemOutcome.Jump, BlockEnd.SystemJump },
        { "mov cr3", SystemOutcome.Continue, BlockEnd.Exit },
        { "mov cr3", SystemOutcome.Fault, BlockEnd.Fault },
        { "wrmsr", SystemOutcome.Continue, BlockEnd.Exit },
        { "wrmsr", SystemOutcome.Fault, BlockEnd.Fault },
        { "cpuid", SystemOutcome.Continue, BlockEnd.Exit },
        { "cli", SystemOutcome.Continue, BlockEnd.Exit },
    };

    [Theory]
    [MemberData(nameof(SystemForms))]
    public void A_system_instruction_is_counted_when_it_retires_whatever_it_does(string form, SystemOutcome outcome, BlockEnd end)
    {
        Action<Assembler> system = form switch
        {
            "out" => a => a.@out(dx, al),
            "in" => a => a.@in(al, dx),
            "hlt" => a => a.hlt(),
            "iretq" => a => a.iretq(),
            "sysretq" => a => a.sysretq(),
            "syscall" => a => a.syscall(),
            "mov cr3" => a => a.mov(cr3, rax),
            "wrmsr" => a => a.wrmsr(),
            "cpuid" => a => a.cpuid(),
            "cli" => a => a.cli(),
            _ => throw new ArgumentException(form),
        };
        var result = RunCounted(a => { a.mov(edx, 0x3f8); a.nop(); system(a); a.nop(); a.jmp(ToolBlockKit.Elsewhere); }, null, $"{form} {outcome}",
            script: twin =>
            {
                foreach (var side in new[] { twin.Interp, twin.Jit })
                {
                    side.System.Outcome = outcome;
                    side.System.JumpTarget = ToolBlockKit.Elsewhere;
                    side.System.FaultToReport = GuestFault.GeneralProtection();
                }
            });

        Assert.Equal(end, result.End);
    }

    [Fact]
    public void Counting_costs_one_add_without_memory_accesses_and_at_most_one_more_per_access()
    {
        int Adds(Action<Assembler> code)
        {
            var view = ToolBlockKit.View(ToolBlockKit.Lower(code));
            view.CountRetiredInstructions(0);
            return view.Finish().Ops.ToArray().Count(op => op.Code == IrOpcode.CounterAdd);
        }

        Assert.Equal(1, Adds(a => { a.mov(eax, 1); a.add(eax, ecx); a.shl(eax, 3); a.jmp(ToolBlockKit.Elsewhere); }));
        Assert.InRange(Adds(Straight), 2, 1 + 3);
    }
}
