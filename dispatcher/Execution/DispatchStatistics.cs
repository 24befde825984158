namespace Drk.Dispatcher.Execution;

/// <summary>What one vCPU's dispatcher did with its code cache: links followed, indirect-branch lookups, traces, per-tier execution.</summary>
/// <remarks>Written by the vCPU's thread only; the counters are plain increments on the dispatch path.</remarks>
public sealed class DispatchStatistics
{
    /// <summary>Direct exits that went straight to the next fragment through a link.</summary>
    public long LinkHits;

    /// <summary>Direct exits whose target was looked up in full (no link yet, or the link no longer held); the link is set then.</summary>
    public long LinkMisses;

    /// <summary>Blocks whose successor was looked up without a link at all (after system instructions, faults, interrupts, chain stops).</summary>
    public long FullLookups;

    /// <summary>Traces recorded and handed to the JIT tier.</summary>
    public long TracesBuilt;

    /// <summary>Traces that replaced one of theirs joined with a trace its code often went on into (<c>VcpuDispatcher.RequestJoin</c>).</summary>
    public long TracesJoined;

    /// <summary>Trace recordings abandoned (the path left through something a trace cannot hold, before a second block).</summary>
    public long TracesAbandoned;

    /// <summary>Times compiled trace code was entered.</summary>
    public long TraceRuns;

    /// <summary>Trace entries straight from another trace's exit, without the dispatch loop's look-ups (part of <see cref="TraceRuns"/>).</summary>
    public long TraceChains;

    /// <summary>Of <see cref="TraceChains"/>, those the traces made by themselves, inside compiled code (a tail call from the exit to the next trace).</summary>
    public long TraceChainsInCode;

    /// <summary>Trace entries at a later block than the head: a fragment that belongs to a compiled trace run there instead of alone.</summary>
    public long TraceSideEntries;

    /// <summary>Trace entries refused because a page the trace lies on now translates elsewhere.</summary>
    public long TraceMappingMisses;

    /// <summary>Guest instructions retired inside traces.</summary>
    public long TraceInstructions;

    /// <summary>Guest instructions retired by blocks run alone (interpreted or compiled).</summary>
    public long BlockInstructions;

    /// <summary>Blocks whose IR was optimised: at build when the tier compiles before a block's first run, otherwise before its second run or when it joins a trace (blocks that run once are not).</summary>
    public long BlocksOptimised;

    /// <summary>Link hits over direct exits, 0..1.</summary>
    public double LinkHitRate => LinkHits + LinkMisses == 0 ? 0 : (double)LinkHits / (LinkHits + LinkMisses);

    /// <summary>Adds <paramref name="other"/>'s counters to this one (totals over vCPUs).</summary>
    public void Add(DispatchStatistics other)
    {
        LinkHits += other.LinkHits;
        LinkMisses += other.LinkMisses;
        FullLookups += other.FullLookups;
        TracesBuilt += other.TracesBuilt;
        TracesAbandoned += other.TracesAbandoned;
        TracesJoined += other.TracesJoined;
        TraceRuns += other.TraceRuns;
        TraceChains += other.TraceChains;
        TraceChainsInCode += other.TraceChainsInCode;
        TraceSideEntries += other.TraceSideEntries;
        TraceMappingMisses += other.TraceMappingMisses;
        TraceInstructions += other.TraceInstructions;
        BlockInstructions += other.BlockInstructions;
        BlocksOptimised += other.BlocksOptimised;
    }
}
