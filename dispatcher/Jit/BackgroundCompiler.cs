using System.Collections.Concurrent;
using Drk.Dispatcher.Execution;
using Drk.Dispatcher.IR;

namespace Drk.Dispatcher.Jit;

/// <summary>
/// The thread that compiles hot blocks off the vCPU threads: one for the process (the machine has
/// few cores and RyuJIT is single-threaded per method anyway), started on first use, fed in order.
/// </summary>
internal static class BackgroundCompiler
{
    // A block with its state, or a trace (Block and State null).
    private static readonly BlockingCollection<(JitTier Tier, IrBlock? Block, JitBlockState? State, Trace? Trace)> Queue = new();
    private static readonly Lazy<Thread> Worker = new(Start, LazyThreadSafetyMode.ExecutionAndPublication);

    public static void Enqueue(JitTier tier, IrBlock block, JitBlockState state)
    {
        _ = Worker.Value;
        Queue.Add((tier, block, state, null));
    }

    public static void Enqueue(JitTier tier, Trace trace)
    {
        _ = Worker.Value;
        Queue.Add((tier, null, null, trace));
    }

    /// <summary>Queues <see cref="JitWarmUp"/> with <paramref name="tier"/>'s compiler, once per process, ahead of any real work.</summary>
    public static void WarmUp(JitTier tier)
    {
        if (!JitWarmUp.Claim()) return;
        _ = Worker.Value;
        Queue.Add((tier, null, null, null));
    }

    private static Thread Start()
    {
        var thread = new Thread(Run) { IsBackground = true, Name = "drk-jit" };
        thread.Start();
        return thread;
    }

    private static void Run()
    {
        foreach (var (tier, block, state, trace) in Queue.GetConsumingEnumerable())
        {
            if (trace is not null) tier.CompileQueued(trace);
            else if (block is not null) tier.CompileQueued(block, state!);
            else tier.WarmUp();
        }
    }
}
