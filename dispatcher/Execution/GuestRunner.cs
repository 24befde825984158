using Drk.Dispatcher.Decoding;
using Drk.Dispatcher.IR;
using Drk.Dispatcher.Jit;
using Drk.Dispatcher.Lowering;
using Drk.Dispatcher.Optimization;
using Drk.Hv.Cpu;
using Drk.Hv.Memory;

namespace Drk.Dispatcher.Execution;

/// <summary>
/// The simplest way to execute guest code: decode, lower, optimise and interpret block after
/// block from <c>state.Rip</c> until RIP equals a stop address, an exception is raised or a
/// budget runs out. No tools: the reference semantics that faster tiers are tested against.
/// </summary>
/// <remarks>
/// <para>
/// Lowered blocks are kept in a small dictionary keyed by RIP and CPL (the lowering depends on the CPL). It assumes guest code does not
/// change while the runner lives; call <see cref="FlushBlocks"/> after writing code (the real
/// code cache, with write-watched pages, is a later piece). Blocks never run past the stop
/// address, and the instruction budget is exact: near its end a shorter block is built.
/// </para>
/// <para>Not thread-safe: one runner per vCPU.</para>
/// </remarks>
public sealed class GuestRunner
{
    private readonly BlockDecoder _decoder;
    private readonly Lowerer _lowerer = new();
    private readonly Optimizer _optimizer = new();
    private readonly IrInterpreter _interpreter;
    private readonly ExecutionTier _tier;
    private readonly JitTier? _jit;
    private readonly Dictionary<(ulong Rip, int Cpl), IrBlock> _blocks = new();

    // A direct-mapped front for the dictionary: a loop's blocks hit here with one compare.
    private const int RecentSize = 256;
    private readonly IrBlock?[] _recent = new IrBlock?[RecentSize];
    private readonly int[] _recentCpl = new int[RecentSize];
    // What Fits needs of a recent block, next to it, so the hot path reads no instruction array.
    private readonly ulong[] _recentLastRip = new ulong[RecentSize];
    private readonly int[] _recentLength = new int[RecentSize];

    public GuestRunner(IGuestMemory memory, ISystemInstructions? system = null)
    {
        Memory = memory;
        System = system;
        _decoder = new BlockDecoder(memory);
        _interpreter = new IrInterpreter(memory, system);
        _tier = DefaultTier;
        _jit = CreateJit(_tier);
    }

    /// <summary>
    /// The tier a runner uses unless told otherwise (<see cref="Tier"/>): the interpreter. The
    /// test suites set it from <c>DRK_TIER</c> so that everything they run goes through the JIT.
    /// </summary>
    public static ExecutionTier DefaultTier { get; set; } = ExecutionTier.Interpreter;

    /// <summary>
    /// Which tier executes blocks (default <see cref="DefaultTier"/>): the interpreter alone, the
    /// JIT for every block, or hot blocks tiered up. Results are the same whichever it is.
    /// </summary>
    public ExecutionTier Tier
    {
        get => _tier;
        init
        {
            _tier = value;
            _jit = CreateJit(value);
        }
    }

    /// <summary>The JIT tier and its statistics; null when only the interpreter runs. It shares the interpreter's tool callbacks and Meta-op handlers.</summary>
    public JitTier? Jit => _jit;

    private JitTier? CreateJit(ExecutionTier tier) =>
        JitTier.For(tier, new JitRuntime(_interpreter, Memory, System));

    public IGuestMemory Memory { get; }

    /// <summary>The system-instruction implementation; when null, system instructions raise #UD.</summary>
    public ISystemInstructions? System { get; }

    /// <summary>Guest instructions retired by this runner so far.</summary>
    public long Retired { get; private set; }

    /// <summary>Blocks decoded and lowered so far (cache misses).</summary>
    public long BlocksBuilt { get; private set; }

    /// <summary>Whether lowered blocks are optimised before they run (on by default; off to test the optimiser against the plain lowering).</summary>
    public bool Optimize { get; init; } = true;

    /// <summary>Whether every block is checked by <see cref="IrVerifier"/> after lowering and after optimising (on by default: a violation throws).</summary>
    public bool VerifyIr { get; init; } = true;

    /// <summary>The interpreter, for registering tool callbacks.</summary>
    public IrInterpreter Interpreter => _interpreter;

    /// <summary>Forgets every lowered block (after guest code was written).</summary>
    public void FlushBlocks()
    {
        _blocks.Clear();
        Array.Clear(_recent);
    }

    /// <summary>
    /// Runs until <c>state.Rip == stopRip</c> (checked at block boundaries and after every
    /// instruction that exits a block), an exception, HLT, or <paramref name="maxInstructions"/>.
    /// </summary>
    /// <param name="fault">Filled when the result is <see cref="RunStatus.Exception"/>; its RIP is the faulting instruction's.</param>
    public RunStatus Run(VcpuState state, ulong stopRip, long maxInstructions, out GuestFault fault)
    {
        fault = default;
        long remaining = maxInstructions;
        while (true)
        {
            ulong rip = state.Rip;
            if (rip == stopRip) return RunStatus.Stopped;
            if (remaining <= 0) return RunStatus.BudgetExhausted;
            int slot = RecentSlot(rip);
            var block = _recent[slot];
            if (block is null || block.StartRip != rip || _recentCpl[slot] != state.Cpl
                || _recentLength[slot] > remaining || (stopRip > rip && stopRip <= _recentLastRip[slot]))
            {
                block = BlockAt(rip, state.Cpl, stopRip, remaining, out fault);
                if (block is null) return RunStatus.Exception;
            }
            var result = _jit is null ? _interpreter.Execute(block, state) : _jit.Execute(block, state, _interpreter);
            Retired += result.Retired;
            remaining -= result.Retired;
            switch (result.End)
            {
                case BlockEnd.Exit:
                case BlockEnd.ExitIndirect:
                case BlockEnd.SystemJump:
                    continue;
                case BlockEnd.Fault:
                case BlockEnd.SoftInt:
                    fault = result.Fault;
                    return RunStatus.Exception;
                case BlockEnd.Halt:
                    return RunStatus.Halted;
                case BlockEnd.Stop:
                    return RunStatus.MachineStop;
                default:
                    throw new InvalidOperationException($"unexpected block end {result.End}");
            }
        }
    }

    /// <summary>
    /// The lowered block at <paramref name="rip"/> that ends before <paramref name="stopRip"/>
    /// and holds at most <paramref name="budget"/> instructions; null with the fetch fault when
    /// its first instruction cannot be fetched.
    /// </summary>
    private IrBlock? BlockAt(ulong rip, int cpl, ulong stopRip, long budget, out GuestFault fault)
    {
        fault = default;
        if (_blocks.TryGetValue((rip, cpl), out var cached) && Fits(cached, stopRip, budget))
        {
            Remember(cached, cpl);
            return cached;
        }
        int limit = (int)Math.Min(budget, BlockDecoder.MaxInstructions);
        if (!_decoder.TryDecode(rip, out var instructions, out fault, limit, stopRip)) return null;
        var block = Build(instructions, cpl);
        // Only full-length blocks are kept, so a budget-shortened block never shadows the real one.
        if (limit == BlockDecoder.MaxInstructions || instructions.Length < limit)
        {
            _blocks[(rip, cpl)] = block;
            Remember(block, cpl);
        }
        return block;
    }

    private static int RecentSlot(ulong rip) => (int)(rip ^ (rip >> 8)) & (RecentSize - 1);

    /// <summary>Puts <paramref name="block"/> in the direct-mapped front, with what the hot path's fit test needs.</summary>
    private void Remember(IrBlock block, int cpl)
    {
        int slot = RecentSlot(block.StartRip);
        _recent[slot] = block;
        _recentCpl[slot] = cpl;
        _recentLastRip[slot] = block.Instructions[^1].Rip;
        _recentLength[slot] = block.Instructions.Length;
    }

    /// <summary>True when a cached block neither runs past the stop address nor exceeds the budget.</summary>
    private static bool Fits(IrBlock block, ulong stopRip, long budget)
    {
        var insns = block.Instructions;
        if (insns.Length > budget) return false;
        return stopRip <= insns[0].Rip || stopRip > insns[^1].Rip;
    }

    /// <summary>Lowers (for privilege level <paramref name="cpl"/>) and optimises one decoded block; public so benchmarks and tests can time and inspect the build.</summary>
    public IrBlock Build(GuestInstruction[] instructions, int cpl = 0)
    {
        BlocksBuilt++;
        var block = _lowerer.Lower(instructions, cpl);
        if (VerifyIr) IrVerifier.ThrowIfInvalid(block, "lowering");
        if (Optimize)
        {
            _optimizer.Optimize(block);
            if (VerifyIr) IrVerifier.ThrowIfInvalid(block, "optimisation");
        }
        return block;
    }
}
