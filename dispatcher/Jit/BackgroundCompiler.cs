using Drk.Dispatcher.Execution;
using Drk.Dispatcher.IR;

namespace Drk.Dispatcher.Jit;

/// <summary>
/// The thread that compiles hot blocks off the vCPU threads: one for the process (the machine has
/// few cores and RyuJIT is single-threaded per method anyway), started on first use. It takes first
/// what the vCPUs miss most: the queued trace or block whose blocks they have interpreted the most
/// guest instructions of while it waited.
/// </summary>
/// <remarks>
/// In arrival order, the outer loop's blocks of compute-user (run once per iteration, so a trace
/// only after a thousand iterations) waited behind the inner loops' traces and were interpreted for
/// another few thousand iterations; taking the costliest wait first cut the program's interpreted
/// instructions by 10-40% (4 alternated bench rounds: 0.53-0.90 against 0.75-1.02 million).
/// </remarks>
internal static class BackgroundCompiler
{
    // A block with its state, a trace (Block and State null), or the warm-up (all null).
    private readonly record struct Item(JitTier Tier, IrBlock? Block, JitBlockState? State, Trace? Trace)
    {
        /// <summary>Guest instructions the vCPU interpreted so far because this item was not compiled yet.</summary>
        public int WaitingWork => Trace?.WaitingWork ?? State?.WaitingWork ?? int.MaxValue;
    }

    private static readonly List<Item> Pending = new();
    private static readonly Lazy<Thread> Worker = new(Start, LazyThreadSafetyMode.ExecutionAndPublication);

    public static void Enqueue(JitTier tier, IrBlock block, JitBlockState state) => Add(new Item(tier, block, state, null));

    public static void Enqueue(JitTier tier, Trace trace) => Add(new Item(tier, null, null, trace));

    /// <summary>Queues <see cref="JitWarmUp"/> with <paramref name="tier"/>'s compiler, once per process, ahead of any real work.</summary>
    public static void WarmUp(JitTier tier)
    {
        if (!JitWarmUp.Claim()) return;
        Add(new Item(tier, null, null, null));
    }

    private static void Add(Item item)
    {
        _ = Worker.Value;
        lock (Pending)
        {
            Pending.Add(item);
            Monitor.Pulse(Pending);
        }
    }

    private static Thread Start()
    {
        var thread = new Thread(Run) { IsBackground = true, Name = "drk-jit" };
        thread.Start();
        return thread;
    }

    /// <summary>
    /// The next item: the one whose wait has cost the vCPU the most interpreted instructions (the
    /// warm-up before anything), the earliest of equals.
    /// </summary>
    private static Item Take()
    {
        lock (Pending)
        {
            while (Pending.Count == 0) Monitor.Wait(Pending);
            int best = 0;
            for (int i = 1; i < Pending.Count; i++)
                if (Pending[i].WaitingWork > Pending[best].WaitingWork) best = i;
            var item = Pending[best];
            Pending.RemoveAt(best);
            return item;
        }
    }

    private static void Run()
    {
        while (true)
        {
            var (tier, block, state, trace) = Take();
            if (trace is not null) tier.CompileQueued(trace);
            else if (block is not null) tier.CompileQueued(block, state!);
            else tier.WarmUp();
        }
    }
}
