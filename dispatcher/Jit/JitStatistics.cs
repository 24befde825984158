namespace Drk.Dispatcher.Jit;

/// <summary>What a <see cref="JitTier"/> did: blocks compiled, compile time, failures, and executions per tier.</summary>
/// <remarks>Compile counters are updated atomically (the background compiler writes them); execution counters by the vCPU's thread only.</remarks>
public sealed class JitStatistics
{
    private long _blocksCompiled;
    private long _compileTicks;
    private long _opsCompiled;
    private long _ilBytes;
    private long _unsupported;
    private long _tracesCompiled;
    private long _traceBlocks;
    private long _traceCompileTicks;
    private long _requestsWithdrawn;
    internal long CompiledRuns;
    internal long InterpretedRuns;

    /// <summary>Blocks compiled to IL and machine code.</summary>
    public long BlocksCompiled => Interlocked.Read(ref _blocksCompiled);

    /// <summary>Total time spent compiling them (IL emission, delegate creation, RyuJIT).</summary>
    public TimeSpan CompileTime => TimeSpan.FromTicks(Interlocked.Read(ref _compileTicks));

    /// <summary>IR ops in the compiled blocks.</summary>
    public long OpsCompiled => Interlocked.Read(ref _opsCompiled);

    /// <summary>Bytes of IL generated.</summary>
    public long IlBytes => Interlocked.Read(ref _ilBytes);

    /// <summary>Blocks that hold an op the JIT does not compile; they stay interpreted.</summary>
    public long Unsupported => Interlocked.Read(ref _unsupported);

    /// <summary>Traces compiled (each into one method).</summary>
    public long TracesCompiled => Interlocked.Read(ref _tracesCompiled);

    /// <summary>Blocks in the compiled traces.</summary>
    public long TraceBlocks => Interlocked.Read(ref _traceBlocks);

    /// <summary>Time spent compiling traces (included in <see cref="CompileTime"/>).</summary>
    public TimeSpan TraceCompileTime => TimeSpan.FromTicks(Interlocked.Read(ref _traceCompileTicks));

    /// <summary>Queued block compilations taken back because the block joined a trace before the compiler reached it.</summary>
    public long RequestsWithdrawn => Interlocked.Read(ref _requestsWithdrawn);

    /// <summary>Block executions that ran compiled code.</summary>
    public long CompiledExecutions => CompiledRuns;

    /// <summary>Block executions that the interpreter ran (cold blocks, blocks waiting for their code, unsupported blocks).</summary>
    public long InterpretedExecutions => InterpretedRuns;

    /// <summary>Mean compile time per block.</summary>
    public TimeSpan MeanCompileTime => BlocksCompiled == 0 ? TimeSpan.Zero : CompileTime / BlocksCompiled;

    internal void RecordCompiled(CompiledBlock block)
    {
        Interlocked.Increment(ref _blocksCompiled);
        Interlocked.Add(ref _compileTicks, block.CompileTime.Ticks);
        Interlocked.Add(ref _opsCompiled, block.Block.Count);
        Interlocked.Add(ref _ilBytes, block.IlSize);
    }

    internal void RecordTrace(CompiledBlock trace)
    {
        Interlocked.Increment(ref _tracesCompiled);
        Interlocked.Add(ref _traceBlocks, trace.SectionCount);
        Interlocked.Add(ref _traceCompileTicks, trace.CompileTime.Ticks);
        Interlocked.Add(ref _compileTicks, trace.CompileTime.Ticks);
        Interlocked.Add(ref _ilBytes, trace.IlSize);
    }

    internal void RecordWithdrawn() => Interlocked.Increment(ref _requestsWithdrawn);

    internal void RecordUnsupported() => Interlocked.Increment(ref _unsupported);

    /// <inheritdoc />
    public override string ToString() =>
        $"{BlocksCompiled} blocks compiled ({OpsCompiled} ops, {IlBytes} IL bytes) in {CompileTime.TotalMilliseconds:F1} ms, "
        + $"{Unsupported} unsupported; executions: {CompiledExecutions} compiled, {InterpretedExecutions} interpreted";
}
