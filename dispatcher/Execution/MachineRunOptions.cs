using Drk.Dispatcher.Jit;
using Drk.Dispatcher.Tools;

namespace Drk.Dispatcher.Execution;

/// <summary>How <see cref="MachineRunner"/> schedules and bounds a run.</summary>
public sealed class MachineRunOptions
{
    /// <summary>The default quantum: 10,000 ticks (10 µs of virtual time).</summary>
    public const ulong DefaultQuantum = 10_000;

    /// <summary>
    /// Virtual ticks each vCPU runs per round-robin turn (it stops at the first block boundary at or
    /// after the end of the round). Smaller quanta interleave vCPUs more finely and cost more
    /// scheduling; the result is deterministic for any value.
    /// </summary>
    public ulong Quantum { get; init; } = DefaultQuantum;

    /// <summary>
    /// Stop with <c>MachineStopReason.Budget</c> once the vCPUs together have retired this many
    /// instructions (checked at block boundaries, so a run may overshoot by less than a block).
    /// <see cref="ulong.MaxValue"/>: no limit.
    /// </summary>
    public ulong MaxInstructions { get; init; } = ulong.MaxValue;

    /// <summary>How many recently executed blocks each vCPU remembers for the stop dump (a power of two).</summary>
    public int RecentBlockCount { get; init; } = 16;

    /// <summary>
    /// Which tier executes blocks: the interpreter (the default), the JIT for every block, or the
    /// interpreter with hot blocks tiered up to the JIT. The guest sees the same thing on every tier.
    /// </summary>
    public ExecutionTier Tier { get; init; } = ExecutionTier.Interpreter;

    /// <summary>
    /// Most bytes of guest code the fragments of one vCPU's code cache may translate; 0 (the
    /// default) for no limit. When a new fragment would pass it, the whole cache is dropped
    /// (DynamoRIO's cache reset) and filling starts again; the run goes on unchanged.
    /// </summary>
    public long CacheSize { get; init; }

    /// <summary>Whether a timer thread samples, every millisecond, which tier the running vCPU is in (<see cref="TierSampler"/>; for statistics).</summary>
    public bool SampleTiers { get; init; }

    /// <summary>
    /// A test hook for <see cref="ExecutionTier.Auto"/>: when set, each vCPU finishes its
    /// compilations on its own thread at moments drawn from this seed (plus the vCPU's index, see
    /// <see cref="CompileSchedule"/>) instead of on the background compiler, so a run replays one
    /// possible timing of the auto tier exactly.
    /// </summary>
    public int? CompileScheduleSeed { get; init; }

    /// <summary>Whether the JIT tier records and compiles traces of hot paths (on by default; off to measure what they give).</summary>
    public bool Traces { get; init; } = true;

    /// <summary>
    /// Whether a block that is a later block of a live trace may start a trace of its own, as in
    /// DynamoRIO's NET (off by default: such a block runs inside the trace it belongs to, and a
    /// trace of its own would compile its blocks again; joins merge the paths that go from trace
    /// to trace often). For experiments with trace selection.
    /// </summary>
    public bool TraceHeadsInsideTraces { get; init; }

    /// <summary>Whether blocks are optimised after lowering (off only to test the optimiser).</summary>
    public bool Optimize { get; init; } = true;

    /// <summary>Whether every block is checked by the IR verifier when built (tests; costs build time).</summary>
    public bool VerifyIr { get; init; }

    /// <summary>
    /// Blocks in a row that a vCPU may run without retiring an instruction (each one an exception
    /// delivered) before the machine stops with <c>MachineStopReason.FaultLoop</c>: such a guest
    /// makes no progress and its clock stands still, so no budget would ever stop it.
    /// </summary>
    public int MaxStalledBlocks { get; init; } = 10_000;

    /// <summary>
    /// Rounds in a row in which every vCPU stayed halted and nothing retired before the machine is
    /// declared deadlocked even though a timer is armed (its interrupt can never be taken, e.g.
    /// because the APIC's priority blocks it).
    /// </summary>
    public int IdleRoundsBeforeDeadlock { get; init; } = 10_000;

    /// <summary>The tools that instrument kernel blocks, or null for none (no instrumentation pass at all).</summary>
    public ToolHost? Tools { get; init; }
}
