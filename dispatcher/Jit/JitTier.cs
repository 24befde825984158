using System.Runtime.CompilerServices;
using Drk.Dispatcher.Execution;
using Drk.Dispatcher.IR;
using Drk.Hv.Cpu;

namespace Drk.Dispatcher.Jit;

/// <summary>
/// The tier-up policy: a block is interpreted until it has run <see cref="Threshold"/> times, then
/// compiled by <see cref="IlCompiler"/> (on a background thread, or at once) and from the moment
/// its code is there, that code runs instead.
/// </summary>
/// <remarks>
/// <para>
/// Both tiers have the same semantics, tested op for op, so results never depend on when a
/// compilation finishes: only speed does. The code is published with release semantics and read
/// with acquire semantics; the block's IR must not change once it has run (the runner builds it
/// completely first). Blocks holding an op the JIT does not compile stay interpreted.
/// </para>
/// <para>The per-block bookkeeping lives on the block, so the check costs two loads. One tier per vCPU; <see cref="Execute"/> is called from that vCPU's thread only.</para>
/// </remarks>
public sealed class JitTier
{
    /// <summary>Interpreted executions before a block is compiled, by default (DESIGN.md section 10: a compile costs as much as ~10^4 interpreted executions of the block; the background thread pays it).</summary>
    public const int DefaultThreshold = 1000;

    private readonly IlCompiler _compiler;
    private readonly CompileSchedule? _schedule;
    private readonly object _gate = new();
    private int _pending;
    private string? _lastFailure;

    /// <param name="threshold">Interpreted executions before compiling; 0 compiles every block before it first runs.</param>
    /// <param name="background">Compile on the background compiler thread (execution goes on interpreted meanwhile) instead of at once.</param>
    public JitTier(JitRuntime runtime, int threshold = DefaultThreshold, bool background = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(threshold);
        Runtime = runtime;
        Threshold = threshold;
        Background = background;
        _compiler = new IlCompiler(runtime);
        if (background && threshold > 0) BackgroundCompiler.WarmUp(this);
    }

    /// <summary>
    /// A tier whose compilations finish at the moments <paramref name="schedule"/> draws, on the
    /// executing thread, instead of on the background compiler (a test hook: it replays any timing
    /// of the auto tier from a seed).
    /// </summary>
    public JitTier(JitRuntime runtime, CompileSchedule schedule) : this(runtime, schedule.Threshold, background: false)
    {
        _schedule = schedule;
    }

    /// <summary>The tier for <paramref name="tier"/>: null for the interpreter alone; <see cref="ExecutionTier.Jit"/> compiles every block synchronously before it runs; <see cref="ExecutionTier.Auto"/> tiers up hot blocks in the background.</summary>
    public static JitTier? For(ExecutionTier tier, JitRuntime runtime) => tier switch
    {
        ExecutionTier.Interpreter => null,
        ExecutionTier.Jit => new JitTier(runtime, threshold: 0, background: false),
        _ => new JitTier(runtime, DefaultThreshold, background: true),
    };

    /// <summary>What compiled blocks run against.</summary>
    public JitRuntime Runtime { get; }

    /// <summary>Interpreted executions of a block before it is compiled.</summary>
    public int Threshold { get; }

    /// <summary>Whether compilation happens on the background compiler thread.</summary>
    public bool Background { get; }

    /// <summary>Compilations and executions so far.</summary>
    public JitStatistics Statistics { get; } = new();

    /// <summary>The message of the last compilation that failed unexpectedly (a JIT bug, not an unsupported op), if any.</summary>
    public string? LastFailure => Volatile.Read(ref _lastFailure);

    /// <summary>
    /// Executes <paramref name="block"/>: its compiled code when there is some, otherwise
    /// <paramref name="interpreter"/> (which must run against the same memory and system), counting
    /// towards the threshold. Adds the retired instructions to the state's clock either way.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public BlockResult Execute(IrBlock block, VcpuState state, IrInterpreter interpreter)
    {
        // Not inlined on purpose: called, it writes its result straight into the caller's local,
        // while inlined the 48-byte struct is built and copied through temps (store-forwarding stalls).
        // The steady state comes first: the block's code is there.
        var s = block.JitState;
        if (s is not null && s.Tier == this)
        {
            var code = Volatile.Read(ref s.Compiled);
            if (code is not null)
            {
                Statistics.CompiledRuns++;
                return code.Execute(state);
            }
        }
        return ExecuteCold(block, state, interpreter);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private BlockResult ExecuteCold(IrBlock block, VcpuState state, IrInterpreter interpreter)
    {
        _schedule?.Step();
        var s = StateOf(block);
        if (s.WaitingFor is { } trace)
        {
            if (!Volatile.Read(ref trace.CompileEnded)) s.Executions = 0;
            else s.WaitingFor = null;
        }
        var code = Volatile.Read(ref s.Compiled);
        if (code is null && !s.Requested && s.Executions++ >= Threshold)
        {
            Request(block, s);
            code = Volatile.Read(ref s.Compiled);
        }
        if (code is null)
        {
            Statistics.InterpretedRuns++;
            // What waiting costs, for the compiler's choice of what to compile next.
            if (s.WaitingFor is { } waiting) waiting.WaitingWork += block.Instructions.Length;
            else if (s.Requested) s.WaitingWork += block.Instructions.Length;
            return interpreter.Execute(block, state);
        }
        Statistics.CompiledRuns++;
        return code.Execute(state);
    }

    /// <summary>The compiled code of <paramref name="block"/> if this tier has it by now.</summary>
    public CompiledBlock? CompiledCodeOf(IrBlock block)
    {
        var s = block.JitState;
        return s is not null && s.Tier == this ? Volatile.Read(ref s.Compiled) : null;
    }

    /// <summary>Blocks until every compilation this tier queued has finished (tests, benchmarks).</summary>
    public void WaitForCompilations()
    {
        _schedule?.Drain();
        lock (_gate)
        {
            while (_pending > 0) Monitor.Wait(_gate);
        }
    }

    /// <summary>Runs <see cref="JitWarmUp"/> with this tier's compiler (on the background thread); a failure there only loses the warm-up.</summary>
    internal void WarmUp()
    {
        try
        {
            JitWarmUp.Run(_compiler);
        }
        catch (Exception e)
        {
            Volatile.Write(ref _lastFailure, $"warm-up: {e.GetType().Name}: {e.Message}");
        }
    }

    private void Request(IrBlock block, JitBlockState s)
    {
        s.Requested = true;
        if (_schedule is not null)
        {
            Volatile.Write(ref s.QueueState, JitBlockState.Queued);
            _schedule.Enqueue(() =>
            {
                if (Claim(s)) Publish(s, _compiler.TryCompile(block, out _));
            });
            return;
        }
        if (!Background)
        {
            Publish(s, _compiler.TryCompile(block, out _));
            return;
        }
        lock (_gate) _pending++;
        Volatile.Write(ref s.QueueState, JitBlockState.Queued);
        BackgroundCompiler.Enqueue(this, block, s);
    }

    /// <summary>This tier's bookkeeping on <paramref name="block"/>, made (or replaced, if another tier's) on first use.</summary>
    private JitBlockState StateOf(IrBlock block)
    {
        var s = block.JitState;
        if (s is null || s.Tier != this) block.JitState = s = new JitBlockState(this);
        return s;
    }

    // False when a trace took the request back (or an earlier queue entry of the same block won).
    private static bool Claim(JitBlockState s) =>
        Interlocked.CompareExchange(ref s.QueueState, JitBlockState.Claimed, JitBlockState.Queued) == JitBlockState.Queued;

    /// <summary>
    /// Called by the vCPU thread when <paramref name="trace"/> was recorded, before it is queued:
    /// its blocks run inside the trace from now on, so compiling them alone would mostly be wasted
    /// compile time. Requests of theirs still queued are taken back, and their interpreted runs
    /// count towards compiling them alone only from when the trace's compilation ended (runs
    /// outside the trace: side entries, exits).
    /// </summary>
    internal void DeferBlocksOf(Trace trace)
    {
        foreach (var fragment in trace.Fragments)
        {
            var s = StateOf(fragment.Block);
            if (Volatile.Read(ref s.Compiled) is not null) continue;
            if (s.Requested)
            {
                if (Interlocked.CompareExchange(ref s.QueueState, JitBlockState.Idle, JitBlockState.Queued) != JitBlockState.Queued) continue;
                s.Requested = false;
                Statistics.RecordWithdrawn();
            }
            s.Executions = 0;
            s.WaitingFor = trace;
        }
    }

    /// <summary>
    /// Compiles <paramref name="trace"/> into one method (at once, or on the background thread) and
    /// publishes it in <see cref="Trace.Code"/>; a trace that died meanwhile is not compiled.
    /// </summary>
    public void RequestTrace(Trace trace)
    {
        if (_schedule is not null)
        {
            _schedule.Enqueue(() => PublishTrace(trace));
            return;
        }
        if (!Background)
        {
            PublishTrace(trace);
            return;
        }
        lock (_gate) _pending++;
        BackgroundCompiler.Enqueue(this, trace);
    }

    /// <summary>Runs on the background compiler thread.</summary>
    internal void CompileQueued(Trace trace)
    {
        try
        {
            PublishTrace(trace);
        }
        catch (Exception e)
        {
            Volatile.Write(ref _lastFailure, $"{trace}: {e.GetType().Name}: {e.Message}");
            Statistics.RecordUnsupported();
        }
        finally
        {
            lock (_gate)
            {
                _pending--;
                Monitor.PulseAll(_gate);
            }
        }
    }

    private void PublishTrace(Trace trace)
    {
        try
        {
            CompileTrace(trace);
        }
        finally
        {
            Volatile.Write(ref trace.CompileEnded, true);
        }
    }

    private void CompileTrace(Trace trace)
    {
        if (!trace.IsValid) return;
        var blocks = new IrBlock[trace.Fragments.Length];
        for (int i = 0; i < blocks.Length; i++) blocks[i] = trace.Fragments[i].Block;
        var code = _compiler.TryCompileTrace(blocks, out _, trace.Head.Cpl, trace.JoinedHeads);
        if (code is null)
        {
            Statistics.RecordUnsupported();
            return;
        }
        Statistics.RecordTrace(code);
        code.Owner = trace;
        Volatile.Write(ref trace.Code, code);
        // Dropped while it compiled: the code must not run (it may already be reachable).
        if (!trace.IsValid) code.TraceValid = false;
    }

    /// <summary>Runs on the background compiler thread.</summary>
    internal void CompileQueued(IrBlock block, JitBlockState s)
    {
        try
        {
            if (Claim(s)) Publish(s, _compiler.TryCompile(block, out _));
        }
        catch (Exception e)
        {
            // A JIT bug: the block stays interpreted (still correct), and the failure is visible.
            Volatile.Write(ref _lastFailure, $"block {block.StartRip:x}: {e.GetType().Name}: {e.Message}");
            Statistics.RecordUnsupported();
        }
        finally
        {
            lock (_gate)
            {
                _pending--;
                Monitor.PulseAll(_gate);
            }
        }
    }

    private void Publish(JitBlockState s, CompiledBlock? code)
    {
        if (code is null)
        {
            Statistics.RecordUnsupported();
            return;
        }
        Statistics.RecordCompiled(code);
        Volatile.Write(ref s.Compiled, code);
    }
}
