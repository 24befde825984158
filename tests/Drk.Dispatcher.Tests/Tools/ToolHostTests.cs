using Drk.Dispatcher.Execution;
using Drk.Dispatcher.IR;
using Drk.Dispatcher.Jit;
using Drk.Dispatcher.Tests.Machine;
using Drk.Dispatcher.Tools;
using Drk.Hv;
using Drk.Hv.Cpu;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Drk.Dispatcher.Tests.Tools;

/// <summary>
/// Tools hosted by <see cref="ToolHost"/> in the run loop, on small hand-assembled machines:
/// clean calls see the exact registers on every tier, function wraps see arguments, return
/// values and recursion, and the scope decides which blocks passes see (never user code).
/// </summary>
public sealed class ToolHostTests
{
    private const ulong Fact = TestMachine.CodeBase + 0x400;
    private const ulong Pair = TestMachine.CodeBase + 0x600;

    public static TheoryData<ExecutionTier> Tiers => new() { ExecutionTier.Interpreter, ExecutionTier.Jit, ExecutionTier.Auto };

    private static TestMachine NewMachine(ToolHost host, ExecutionTier tier) =>
        new(1, new MachineRunOptions { VerifyIr = true, Tools = host, Tier = tier });

    [Theory]
    [MemberData(nameof(Tiers))]
    public void A_clean_call_sees_the_exact_registers_of_the_instruction_it_precedes(ExecutionTier tier)
    {
        var seen = new List<(ulong Rip, ulong Rax, ulong Rbx, ulong Rcx, ulong Rdx, ulong Rsp, int Cpl)>();
        var tool = new ProbeTool(context =>
        {
            ulong call = context.RegisterCleanCall((vcpu, rip, _, _, _) =>
                seen.Add((rip, vcpu.Rax, vcpu[GuestReg.Rbx], vcpu[GuestReg.Rcx], vcpu[GuestReg.Rdx], vcpu.Rsp, vcpu.Cpl)));
            context.AddBlockPass(block =>
            {
                foreach (var insn in block.Instructions)
                {
                    if (insn.Mnemonic != Mnemonic.Mov || insn.Instruction.Op0Register != Register.RDX) continue;
                    var ir = block.InsertBefore(insn);
                    ir.CleanCall(call, ir.Const64(insn.Rip), IrValue.None, IrValue.None, IrValue.None);
                }
            });
        });
        using var m = NewMachine(new ToolHost([tool]), tier);
        m.Load(TestMachine.CodeBase, a =>
        {
            a.mov(rax, 0x1111UL);
            a.mov(rbx, 0x2222UL);
            a.add(rbx, rax);
            a.lea(rcx, __qword_ptr[rbx + rax * 2]);
            a.push(rcx);
            a.mov(rdx, rcx);       // the clean call runs before this one
            a.mov(rax, rdx);
            a.sub(rax, 0x5555);    // 0 when RDX got RCX
            TestMachine.Exit(a, eax);
        });
        m.Start();

        var result = m.Run();

        Assert.Equal(MachineStopReason.DebugExit, result.Reason);
        Assert.Equal(0, result.ExitStatus);
        var insn5 = TestMachine.CodeBase + 10 + 10 + 3 + 4 + 1;
        Assert.Equal([(insn5, 0x1111UL, 0x3333UL, 0x5555UL, 0UL, TestMachine.StackTop - 8, 0)], seen);
    }

    /// <summary>fact(n) = n * fact(n - 1), recursive, and pair(a, b) = a * 16 + b; main exits with fact(5) + pair(3, 4) - 172 = 0.</summary>
    private static void LoadProgram(TestMachine m)
    {
        m.Load(Fact, a =>
        {
            var one = a.CreateLabel();
            a.cmp(rdi, 1);
            a.jbe(one);
            a.push(rdi);
            a.dec(rdi);
            a.call(Fact);
            a.pop(rdi);
            a.imul(rax, rdi);
            a.ret();
            a.Label(ref one);
            a.mov(eax, 1);
            a.ret();
        });
        m.Load(Pair, a => { a.mov(rax, rdi); a.shl(rax, 4); a.add(rax, rsi); a.ret(); });
        m.Load(TestMachine.CodeBase, a =>
        {
            a.mov(edi, 5);
            a.call(Fact);
            a.mov(rbx, rax);
            a.mov(edi, 3);
            a.mov(esi, 4);
            a.call(Pair);
            a.add(rax, rbx);
            a.sub(rax, 120 + 0x34);
            TestMachine.Exit(a, eax);
        });
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void A_wrapped_function_gives_its_arguments_at_entry_and_its_return_value_at_return_through_recursion(ExecutionTier tier)
    {
        var events = new List<string>();
        var tool = new ProbeTool(context =>
        {
            Assert.True(context.WrapFunction("fact",
                call => events.Add($"fact({call.Argument(0)}) rsp={call.EntryRsp:x} ret={call.ReturnAddress:x} returned={call.HasReturned}"),
                call => events.Add($"fact({call.Argument(0)}) = {call.ReturnValue} rsp={call.EntryRsp:x} returned={call.HasReturned}")));
            Assert.True(context.WrapFunction("pair", null, call => events.Add($"pair({call.Argument(0)}, {call.Argument(1)}) = {call.ReturnValue:x}")));
            Assert.False(context.WrapFunction("missing", _ => { }, null));
        });
        var functions = new Dictionary<string, GuestFunction>();
        var host = new ToolHost([tool], new ToolHostOptions { FindFunction = name => functions.TryGetValue(name, out var f) ? f : null });
        using var m = NewMachine(host, tier);
        LoadProgram(m);
        functions["fact"] = new GuestFunction("fact", Fact, 0x40);
        functions["pair"] = new GuestFunction("pair", Pair, 0x10);
        m.Start();

        var result = m.Run();

        Assert.Equal(0, result.ExitStatus);
        const ulong top = TestMachine.StackTop - 8;   // RSP at fact(5)'s entry: its return address
        ulong afterOuterCall = TestMachine.CodeBase + 5 + 5;
        ulong afterInnerCall = Fact + 4 + 2 + 1 + 3 + 5;
        var expected = new List<string>();
        for (int n = 5; n >= 1; n--)
            expected.Add($"fact({n}) rsp={top - (ulong)(5 - n) * 16:x} ret={(n == 5 ? afterOuterCall : afterInnerCall):x} returned=False");
        long value = 1;
        for (int n = 1; n <= 5; n++)
        {
            value *= n;
            expected.Add($"fact({n}) = {value} rsp={top - (ulong)(5 - n) * 16:x} returned=True");
        }
        expected.Add("pair(3, 4) = 34");
        Assert.Equal(expected, events);
    }

    /// <summary>
    /// Two kernel "threads" on one vCPU, each with its own stack, both inside the wrapped function
    /// f at once: thread A enters f(1), which switches to thread B; B enters f(2), which switches
    /// back to A; A returns from f first (100), then switches to B, whose f returns (200). Returns
    /// do not nest across stacks, as when a wrapped function sleeps.
    /// </summary>
    private static void LoadTwoThreads(TestMachine m, ulong stackB)
    {
        const ulong f = Fact;
        const ulong threadB = TestMachine.CodeBase + 0x200;
        const ulong saveA = TestMachine.DataBase, saveB = TestMachine.DataBase + 8;
        ulong resumeA = 0, resumeB = 0;
        // Assembled twice: the first time only to learn where the threads resume (the immediates keep their size).
        for (int pass = 0; pass < 2; pass++)
        {
            ulong ra = resumeA, learnedA = resumeA, learnedB = resumeB;
            var bytes = m.Load(f, a =>
            {
                var second = a.CreateLabel();
                a.cmp(rdi, 1);
                a.jne(second);
                a.mov(rax, saveA);                 // thread A: save its stack, run thread B
                a.mov(__qword_ptr[rax], rsp);
                a.mov(rsp, stackB);
                a.mov(rax, threadB);
                a.jmp(rax);
                a.mov(eax, 100);                   // thread A resumes here
                a.ret();
                a.Label(ref second);
                a.mov(rax, saveB);                 // thread B: save its stack, resume thread A inside f
                a.mov(__qword_ptr[rax], rsp);
                a.mov(rax, saveA);
                a.mov(rsp, __qword_ptr[rax]);
                a.mov(rax, ra);
                a.jmp(rax);
                a.mov(eax, 200);                   // thread B resumes here
                a.ret();
            });
            // Each thread resumes after one of the two 'jmp rax'.
            var insns = Drk.Dispatcher.Tests.Execution.IrTestKit.Decode(bytes, f);
            var jumps = insns.Where(i => i.Instruction.Mnemonic == Mnemonic.Jmp && i.Instruction.Op0Kind == OpKind.Register).ToList();
            resumeA = jumps[0].NextRip;
            resumeB = jumps[1].NextRip;
            if (pass == 1) Assert.True(resumeA == learnedA && resumeB == learnedB, "f's layout changed between the two assemblies");
        }
        m.Load(threadB, a =>
        {
            a.mov(edi, 2);
            a.call(f);                              // returns 200 once A switches back
            a.mov(rbx, TestMachine.DataBase + 16);
            a.mov(rbx, __qword_ptr[rbx]);           // A's result
            a.add(rax, rbx);
            a.sub(rax, 300);
            TestMachine.Exit(a, eax);
        });
        m.Load(TestMachine.CodeBase, a =>
        {
            a.mov(edi, 1);
            a.call(f);                              // returns 100, thread B still inside f
            a.mov(rbx, TestMachine.DataBase + 16);
            a.mov(__qword_ptr[rbx], rax);
            a.mov(rax, saveA);
            a.mov(__qword_ptr[rax], rsp);
            a.mov(rax, saveB);
            a.mov(rsp, __qword_ptr[rax]);
            a.mov(rax, resumeB);
            a.jmp(rax);
        });
    }

    [Theory]
    [InlineData(TestMachine.StackTop - 0x4000)]   // thread B's stack below A's
    [InlineData(TestMachine.StackTop + 0x4000)]   // and above it
    public void Wrapped_calls_on_two_stacks_of_one_vcpu_each_return_to_their_own_post_callback(ulong stackB)
    {
        var events = new List<string>();
        var tool = new ProbeTool(context => Assert.True(context.WrapFunction("f",
            call => events.Add($"enter f({call.Argument(0)})"),
            call => events.Add($"f({call.Argument(0)}) = {call.ReturnValue}"))));
        var host = new ToolHost([tool], new ToolHostOptions { FindFunction = name => name == "f" ? new GuestFunction("f", Fact, 0x80) : null });
        using var m = NewMachine(host, ExecutionTier.Interpreter);
        LoadTwoThreads(m, stackB);
        m.Start();

        var result = m.Run();

        Assert.True(result.Reason == MachineStopReason.DebugExit && result.ExitStatus == 0, $"{result.Summary}\n{result.Dump}");
        Assert.Equal(["enter f(1)", "enter f(2)", "f(1) = 100", "f(2) = 200"], events);
    }

    [Theory]
    [InlineData(InstrumentationScope.Kernel)]
    [InlineData(InstrumentationScope.KernelAndModules)]
    [InlineData(InstrumentationScope.Modules)]
    public void The_scope_decides_which_kernel_blocks_passes_see_and_user_blocks_are_never_seen(InstrumentationScope scope)
    {
        const ulong kernelCode = 0xffff_ffff_8010_0000;
        const ulong moduleText = 0xffff_ffff_c000_0000;
        const ulong userCode = 0x40_0000;
        var seen = new List<(ulong Rip, CodeRegion Region, string? Module, int Cpl)>();
        var host = new ToolHost([new ProbeTool(c => c.AddBlockPass(b => seen.Add((b.StartRip, b.Region, b.Module?.Name, b.Cpl))))],
            new ToolHostOptions { Scope = scope });
        host.Start();
        host.Modules.Add(new ModuleInfo("m", "modules/m.o", new AddressRange(moduleText, 0x1000), new AddressRange(moduleText + 0x1000, 0x100),
            new AddressRange(moduleText + 0x2000, 0x100), new AddressRange(moduleText + 0x3000, 0x100), [], null));
        Action<Assembler> code = a => { a.inc(eax); a.jmp(kernelCode); };

        var kernel = ToolBlockKit.Lower(code, 0, kernelCode);
        var module = ToolBlockKit.Lower(code, 0, moduleText + 0x10);
        var moduleData = ToolBlockKit.Lower(code, 0, moduleText + 0x2000);   // not text: kernel code as far as scope goes
        var user = ToolBlockKit.Lower(code, 3, userCode);
        var userInModuleRange = ToolBlockKit.Lower(code, 3, moduleText + 0x10);
        host.Instrument(kernel, 0);
        host.Instrument(module, 0);
        host.Instrument(moduleData, 0);
        Assert.Same(user, host.Instrument(user, 3));
        Assert.Same(userInModuleRange, host.Instrument(userInModuleRange, 3));

        var expected = new List<(ulong, CodeRegion, string?, int)>();
        if (scope != InstrumentationScope.Modules) expected.Add((kernelCode, CodeRegion.Kernel, null, 0));
        if (scope != InstrumentationScope.Kernel) expected.Add((moduleText + 0x10, CodeRegion.Module, "m", 0));
        if (scope != InstrumentationScope.Modules) expected.Add((moduleText + 0x2000, CodeRegion.Kernel, null, 0));
        Assert.Equal(expected, seen);
        Assert.Equal(expected.Count, host.BlocksInstrumented);
    }

    [Fact]
    public void Passes_analyse_before_any_inserts_in_registration_order()
    {
        var log = new List<string>();
        var first = new RecordingPass("first", log);
        var second = new RecordingPass("second", log);
        var host = new ToolHost([new ProbeTool(c => { c.AddBlockPass(first); c.AddBlockPass(second); })]);
        host.Start();

        host.Instrument(ToolBlockKit.Lower(a => a.jmp(ToolBlockKit.Elsewhere)), 0);

        Assert.Equal(["first analyse", "second analyse", "first insert", "second insert"], log);
    }
}
