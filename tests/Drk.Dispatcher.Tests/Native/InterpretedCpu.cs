using Drk.Dispatcher.Decoding;
using Drk.Dispatcher.Execution;
using Drk.Dispatcher.Flags;
using Drk.Dispatcher.IR;
using Drk.Dispatcher.Lowering;
using Drk.Hv.Cpu;
using Drk.Hv.Memory;

namespace Drk.Dispatcher.Tests.Native;

/// <summary>
/// The interpreter side of a differential case: the same code bytes and scratch bytes at the same
/// linear addresses as <see cref="HostCpu"/> (in a <see cref="FlatMemory"/>), run by
/// <see cref="GuestRunner"/> from the case's start until RIP reaches the epilogue address, which
/// the closing <c>jmp</c> of the code area jumps to.
/// </summary>
public sealed class InterpretedCpu
{
    private readonly byte[] _code = new byte[TestMachineLayout.CodeSize];
    private readonly byte[] _scratch = new byte[TestMachineLayout.ScratchSize];
    private readonly FlatMemory _memory = new();

    private readonly GuestRunner _runner;

    /// <param name="optimize">Whether blocks are optimised before they run (default: <c>DRK_DIFF_OPTIMIZE</c>, on unless "0").</param>
    public InterpretedCpu(TestMachineLayout layout, bool? optimize = null)
    {
        Layout = layout;
        _memory.Map(layout.CodeAddress, _code, writable: false, executable: true);
        _memory.Map(layout.ScratchAddress, _scratch, writable: true, executable: false);
        Optimize = optimize ?? Environment.GetEnvironmentVariable("DRK_DIFF_OPTIMIZE") != "0";
        _runner = new GuestRunner(_memory) { Optimize = Optimize };
    }

    /// <summary>Whether the runner optimises blocks (the default pipeline) or runs the plain lowering.</summary>
    public bool Optimize { get; }

    public TestMachineLayout Layout { get; }

    /// <summary>The scratch area as the interpreter sees it.</summary>
    public Span<byte> Scratch => _scratch;

    /// <summary>The memory the interpreter runs against (code read-only, scratch read-write).</summary>
    public IGuestMemory Memory => _memory;

    /// <summary>The guest state after the last <see cref="Run"/>, including the flag thunk and RIP.</summary>
    public VcpuState State { get; } = new();

    /// <summary>Guest instructions the interpreter may retire per case before it is declared runaway.</summary>
    public long InstructionBudget { get; set; } = 1_000_000;

    /// <summary>
    /// Runs <paramref name="code"/> from <paramref name="state"/> (updated in place with the
    /// final GPRs and RFLAGS) with <see cref="Scratch"/> as it is; CPL 3 like the native run.
    /// </summary>
    public InterpretedOutcome Run(ReadOnlySpan<byte> code, CpuRegisters state, ulong fsBase = 0, ulong gsBase = 0)
    {
        if (code.Length > TestMachineLayout.MaxCodeLength) throw new ArgumentException("code too long for the code area");
        _code.AsSpan().Fill(0xCC);
        code.CopyTo(_code);
        HostCpu.WriteJumpToEpilogue(_code.AsSpan(code.Length), Layout.CodeAddress + (ulong)code.Length, Layout.EpilogueAddress);

        var s = State.Slots;
        Array.Clear(s);
        for (int i = 0; i < 16; i++) s[i] = state.Gpr[i];
        s[GuestReg.Rip] = Layout.CodeAddress;
        s[GuestReg.CcOp] = FlagsOps.Copy;
        s[GuestReg.CcDep1] = state.Rflags & Drk.Hv.Cpu.Rflags.Arithmetic;
        s[GuestReg.FlagsOther] = state.Rflags & ~Drk.Hv.Cpu.Rflags.Arithmetic;
        s[GuestReg.FsBase] = fsBase;
        s[GuestReg.GsBase] = gsBase;
        State.Cpl = 3;

        var outcome = new InterpretedOutcome();
        try
        {
            // One runner for all cases (it owns large buffers); its blocks are of the previous case's code.
            _runner.FlushBlocks();
            long retiredBefore = _runner.Retired;
            outcome.Status = _runner.Run(State, Layout.EpilogueAddress, InstructionBudget, out outcome.Fault);
            outcome.Retired = _runner.Retired - retiredBefore;
        }
        catch (Exception ex)
        {
            outcome.HostException = ex;
        }
        for (int i = 0; i < 16; i++) state.Gpr[i] = s[i];
        state.Rflags = ReadRflags(State, out outcome.FlagsException);
        outcome.FinalRip = s[GuestReg.Rip];
        return outcome;
    }

    /// <summary>
    /// The IR of the blocks covering [<paramref name="start"/>, <paramref name="end"/>) as this
    /// runner builds them (the block decoder's cuts, CPL 3): lowered, and after optimisation
    /// when the runner optimises. For failure reports; the code must still be loaded.
    /// </summary>
    public string IrReport(ulong start, ulong end)
    {
        var sb = new System.Text.StringBuilder();
        var decoder = new BlockDecoder(_memory);
        var lowerer = new Lowerer();
        for (ulong rip = start; rip < end;)
        {
            try
            {
                if (!decoder.TryDecode(rip, out var instructions, out var fault, stopBefore: end))
                {
                    sb.Append($"block {rip:x}: fetch fault {fault}\n");
                    break;
                }
                sb.Append("lowered:\n").Append(IrPrinter.Format(lowerer.Lower(instructions, cpl: 3)));
                if (Optimize) sb.Append("optimised (as run):\n").Append(IrPrinter.Format(_runner.Build(instructions, cpl: 3)));
                rip = instructions[^1].NextRip;
            }
            catch (Exception ex)
            {
                sb.Append($"block {rip:x}: {ex.GetType().Name}: {ex.Message}\n");
                break;
            }
        }
        return sb.ToString();
    }

    /// <summary>RFLAGS of <paramref name="state"/>: the thunk's arithmetic flags plus flags_other.</summary>
    public static ulong ReadRflags(VcpuState state, out Exception? error)
    {
        var s = state.Slots;
        error = null;
        ulong arithmetic = 0;
        try
        {
            arithmetic = FlagsCalculator.Compute(s[GuestReg.CcOp], s[GuestReg.CcDep1], s[GuestReg.CcDep2], s[GuestReg.CcNdep]);
        }
        catch (Exception ex)
        {
            error = ex;
        }
        return (arithmetic & Drk.Hv.Cpu.Rflags.Arithmetic) | (s[GuestReg.FlagsOther] & ~Drk.Hv.Cpu.Rflags.Arithmetic);
    }
}
