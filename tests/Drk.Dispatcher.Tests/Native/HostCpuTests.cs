using Drk.Hv.Cpu;
using Drk.Dispatcher.Flags;
using Drk.Dispatcher.Tests.Differential;
using Iced.Intel;

namespace Drk.Dispatcher.Tests.Native;

/// <summary>The native harness itself: state round trip, flags, scratch memory, stack, DF restored for the host.</summary>
public sealed class HostCpuTests
{
    private static CpuRegisters Run(CpuRegisters state, Action<CodeEmitter> emit) =>
        Run(state, emit, out var fault) is var s && fault.None ? s : throw new InvalidOperationException($"faulted: {fault}");

    private static CpuRegisters Run(CpuRegisters state, Action<CodeEmitter> emit, out NativeFault fault)
    {
        var host = HostCpu.Shared;
        lock (host.Gate)
        {
            var e = new CodeEmitter(host.Layout.CodeAddress);
            emit(e);
            host.Scratch.Clear();
            fault = host.Run(e.Encode(), state);
            return state;
        }
    }

    private static CpuRegisters Distinct()
    {
        var s = new CpuRegisters();
        for (int i = 0; i < 16; i++) s.Gpr[i] = 0x0101_0101_0101_0101UL * (ulong)(i + 1) ^ 0x8000_0000_0000_0000UL;
        s.Rflags = 0x202 | Drk.Hv.Cpu.Rflags.CF | Drk.Hv.Cpu.Rflags.ZF | Drk.Hv.Cpu.Rflags.OF | Drk.Hv.Cpu.Rflags.DF;
        return s;
    }

    [SkippableFact]
    public void Empty_code_returns_every_register_and_flag_unchanged()
    {
        Skip.IfNot(HostPlatform.IsX64Linux, HostPlatform.SkipReason);
        var before = Distinct();
        var after = Run(Distinct(), _ => { });
        Assert.Equal(before.Gpr, after.Gpr);
        Assert.Equal(before.Rflags & CpuRegisters.ComparableFlags, after.Rflags & CpuRegisters.ComparableFlags);
    }

    [SkippableFact]
    public void Add_sets_the_result_and_the_arithmetic_flags()
    {
        Skip.IfNot(HostPlatform.IsX64Linux, HostPlatform.SkipReason);
        var s = Distinct();
        s.Gpr[0] = 0x7FFF_FFFF_FFFF_FFFF;
        s.Gpr[3] = 1;
        Run(s, e => e.Emit(Instruction.Create(Code.Add_rm64_r64, Register.RAX, Register.RBX)));
        Assert.Equal(0x8000_0000_0000_0000UL, s.Gpr[0]);
        Assert.Equal(Drk.Hv.Cpu.Rflags.OF | Drk.Hv.Cpu.Rflags.SF | Drk.Hv.Cpu.Rflags.AF | Drk.Hv.Cpu.Rflags.PF | Drk.Hv.Cpu.Rflags.DF,
            s.Rflags & CpuRegisters.ComparableFlags);
    }

    [SkippableFact]
    public void Stores_land_in_scratch_and_the_stack_lives_in_scratch()
    {
        Skip.IfNot(HostPlatform.IsX64Linux, HostPlatform.SkipReason);
        var layout = HostCpu.Shared.Layout;
        var s = Distinct();
        s.Gpr[4] = layout.StackTop;
        s.Gpr[7] = layout.ScratchAddress + 0x100;
        byte[] image = new byte[TestMachineLayout.ScratchSize];
        Run(s, e =>
        {
            e.Emit(Instruction.Create(Code.Mov_rm64_r64, new MemoryOperand(Register.RDI), Register.RAX));
            e.Emit(Instruction.Create(Code.Push_r64, Register.RBX));
            e.Emit(Instruction.Create(Code.Pop_r64, Register.RCX));
            e.Emit(Instruction.Create(Code.Push_r64, Register.RDX));
        });
        lock (HostCpu.Shared.Gate) HostCpu.Shared.Scratch.CopyTo(image);
        Assert.Equal(Distinct().Gpr[0], BitConverter.ToUInt64(image, 0x100));
        Assert.Equal(Distinct().Gpr[2], BitConverter.ToUInt64(image, TestMachineLayout.StackTopOffset - 8));
        Assert.Equal(Distinct().Gpr[3], s.Gpr[1]);
        Assert.Equal(layout.StackTop - 8, s.Gpr[4]);
    }

    [SkippableFact]
    public void STD_is_reported_and_the_host_gets_DF_clear_back()
    {
        Skip.IfNot(HostPlatform.IsX64Linux, HostPlatform.SkipReason);
        var s = Distinct();
        s.Rflags &= ~Drk.Hv.Cpu.Rflags.DF;
        Run(s, e => e.Emit(Instruction.Create(Code.Std)));
        Assert.NotEqual(0UL, s.Rflags & Drk.Hv.Cpu.Rflags.DF);
        // With DF left set, an overlapping copy that relies on forward string moves would go wrong.
        var buffer = new byte[64];
        for (int i = 0; i < 32; i++) buffer[i] = (byte)i;
        Buffer.BlockCopy(buffer, 0, buffer, 32, 32);
        for (int i = 0; i < 32; i++) Assert.Equal((byte)i, buffer[32 + i]);
    }

    public static TheoryData<string, int, int> Faults => new()
    {
        { "div ecx with ecx = 0", 8, 0 },
        { "mov rax, [rbx] with rbx unmapped", 11, 14 },
        { "mov rax, [rbx] with rbx non-canonical", 11, 13 },
        { "ud2", 4, 6 },
        { "int3", 5, 3 },
    };

    [SkippableTheory, MemberData(nameof(Faults))]
    public void A_native_fault_in_the_code_is_caught_and_reported(string what, int signal, int trap)
    {
        // The safety net for generator bugs: the process survives, the fault is reported, and
        // both the harness and the runtime's own fault handling keep working afterwards.
        Skip.IfNot(HostPlatform.IsX64Linux, HostPlatform.SkipReason);
        var s = Distinct();
        s.Gpr[1] = 0;
        s.Gpr[3] = what.Contains("non-canonical", StringComparison.Ordinal) ? 0x8000_0000_0000_0000 : 0x10;
        s.Gpr[4] = HostCpu.Shared.Layout.StackTop;
        Run(s, e => e.Emit(what switch
        {
            "ud2" => Instruction.Create(Code.Ud2),
            "int3" => Instruction.Create(Code.Int3),
            _ when what.StartsWith("div", StringComparison.Ordinal) => Instruction.Create(Code.Div_rm32, Register.ECX),
            _ => Instruction.Create(Code.Mov_r64_rm64, Register.RAX, new MemoryOperand(Register.RBX)),
        }), out var fault);
        Assert.Equal(signal, fault.Signal);
        Assert.Equal((ulong)trap, fault.TrapNumber);
        Assert.Equal(HostCpu.Shared.Layout.CodeAddress + (what == "int3" ? 1UL : 0UL), fault.Rip);

        var after = Run(Distinct(), _ => { });
        Assert.Equal(Distinct().Gpr, after.Gpr);
        object? nothing = null;
        Assert.Throws<NullReferenceException>(() => nothing!.ToString());
    }

    [SkippableFact]
    public void Signals_that_wait_for_a_case_to_end_are_delivered_on_the_host_stack()
    {
        // The case runs with asynchronous signals blocked; one that arrives meanwhile (here a
        // child's SIGCHLD, which the test run gets whenever a test starts readelf or gcc) is
        // delivered when the epilogue unblocks them. On the harness's small stack its frame ran
        // into the stub page and the kernel killed the process ("Test Run Aborted").
        Skip.IfNot(HostPlatform.IsX64Linux, HostPlatform.SkipReason);
        using var stop = new CancellationTokenSource();
        int exited = 0;
        var spawner = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var child = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("true") { UseShellExecute = false });
                child!.WaitForExit();
                Interlocked.Increment(ref exited);
            }
        });
        spawner.Start();
        long cases = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            while (Volatile.Read(ref exited) < 100 && clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                var after = Run(Distinct(), _ => { });
                Assert.Equal(Distinct().Gpr, after.Gpr);
                cases++;
            }
        }
        finally
        {
            stop.Cancel();
            spawner.Join();
        }
        Assert.True(exited >= 100, $"only {exited} children exited during {cases} cases");
    }

    [SkippableFact]
    public void Every_form_generates_cases_of_its_encoding_that_run_natively()
    {
        // Exercises every generator (and its fault filters) on the host CPU without the
        // interpreter: a generator bug shows here even before the lowering exists.
        Skip.IfNot(HostPlatform.IsX64Linux, HostPlatform.SkipReason);
        var host = HostCpu.Shared;
        lock (host.Gate)
        {
            var builder = new CaseBuilder(host.Layout);
            var scratch = new byte[TestMachineLayout.ScratchSize];
            new Random(1).NextBytes(scratch);
            var state = new CpuRegisters();
            int forms = 0;
            foreach (var form in FormCatalog.All())
            {
                if (!HostPlatform.Supports(form.Requires)) continue;
                forms++;
                for (int c = 0; c < 20; c++)
                {
                    builder.Start(new Random(c * 7919 + forms), scratch);
                    form.Build(builder);
                    Assert.NotEmpty(builder.Bytes);
                    var code = CodeListing.Decode(builder.Bytes, host.Layout.CodeAddress);
                    Assert.DoesNotContain(code, i => i.Code == Code.INVALID);
                    // Rows named after an Iced Code must contain exactly that encoding (XCHG eAX with
                    // itself is 0x90, which is NOP in 64-bit mode).
                    if (Enum.TryParse<Code>(form.Name.Replace("lock ", "").Split(' ')[0], out var named) && !code.Exists(i => i.Code == named))
                        Assert.True(named.Mnemonic() == Mnemonic.Xchg && code[0].Mnemonic == Mnemonic.Nop,
                            $"{form.Name}: case {c} has no {named}: {CodeListing.Format(code, builder.Bytes, host.Layout.CodeAddress)}");
                    builder.Scratch.CopyTo(host.Scratch);
                    state.CopyFrom(builder.Regs);
                    var fault = host.Run(builder.Bytes, state);
                    Assert.True(fault.None, $"{form.Name}, case {c}: {fault}");
                }
            }
            Assert.True(forms > 300, $"only {forms} forms");
        }
    }
}
