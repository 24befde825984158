using Drk.Dispatcher.Execution;

namespace Drk.Dispatcher.Jit;

/// <summary>What a <see cref="JitTier"/> knows about one block: how often it ran interpreted, whether it asked for it to be compiled, and the code once there is some.</summary>
internal sealed class JitBlockState(JitTier tier)
{
    /// <summary>The tier (hence the vCPU and memory) the code was compiled for.</summary>
    public readonly JitTier Tier = tier;

    /// <summary>Interpreted executions so far (counts up to the threshold only).</summary>
    public int Executions;

    /// <summary>Set once compilation was asked for (queued, done or failed); cleared only when a trace took a still-queued request back.</summary>
    public bool Requested;

    /// <summary>Where a background request is: <see cref="Idle"/>, <see cref="Queued"/> (a trace may still take it back) or <see cref="Claimed"/> (the compiler took it). Shared with the compiler thread, changed by compare-exchange.</summary>
    public int QueueState;

    /// <summary>The trace this block joined while its code is still pending: until it ended, interpreted runs of the block do not count towards compiling it alone (they are the wait for the trace).</summary>
    public Trace? WaitingFor;

    /// <summary>Guest instructions of the block interpreted while its own compilation was queued (see <see cref="Trace.WaitingWork"/>).</summary>
    public int WaitingWork;

    public const int Idle = 0;
    public const int Queued = 1;
    public const int Claimed = 2;

    /// <summary>The compiled code; written once, possibly by the background compiler, read with acquire semantics.</summary>
    public CompiledBlock? Compiled;
}
