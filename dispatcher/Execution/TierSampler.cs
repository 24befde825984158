namespace Drk.Dispatcher.Execution;

/// <summary>
/// Time per tier, by sampling: a timer thread looks every millisecond (or as often as the host timer fires) at what the running vCPU is
/// doing (dispatching, interpreting a block, running a compiled block, running a trace) and counts.
/// A clock read around every block would cost more than a small block; a store of the current
/// tier per block costs next to nothing, and the sampler runs on another thread.
/// </summary>
/// <remarks>
/// The shares are statistical (1 ms samples; a run of a few seconds gives thousands). The sampler
/// is a thread of its own that sleeps between samples: a thread-pool timer woke a pool worker every
/// millisecond, which then spun waiting for more work and took a few percent of a core from the
/// vCPU and compiler threads on a two-core machine.
/// </remarks>
public sealed class TierSampler : IDisposable
{
    /// <summary>What a vCPU is doing, as <see cref="VcpuDispatcher"/> publishes it.</summary>
    public enum Activity
    {
        /// <summary>The dispatch loop: look-ups, links, delivery, building blocks, the run loop.</summary>
        Dispatch,
        /// <summary>The interpreter runs a block.</summary>
        Interpreter,
        /// <summary>A compiled block runs.</summary>
        CompiledBlock,
        /// <summary>A compiled trace runs.</summary>
        Trace,
    }

    private readonly Func<VcpuDispatcher?> _running;
    private readonly long[] _samples = new long[4];
    private readonly Thread _thread;
    private volatile bool _stopped;

    /// <param name="running">The vCPU running now (null between turns); read from the sampling thread.</param>
    public TierSampler(Func<VcpuDispatcher?> running)
    {
        _running = running;
        _thread = new Thread(Loop) { IsBackground = true, Name = "drk-tier-sampler" };
        _thread.Start();
    }

    private void Loop()
    {
        while (!_stopped)
        {
            Thread.Sleep(1);
            Sample();
        }
    }

    /// <summary>Samples that found a vCPU doing <paramref name="activity"/>.</summary>
    public long Samples(Activity activity) => Interlocked.Read(ref _samples[(int)activity]);

    /// <summary>All samples taken while a vCPU ran.</summary>
    public long Total
    {
        get
        {
            long sum = 0;
            for (int i = 0; i < _samples.Length; i++) sum += Interlocked.Read(ref _samples[i]);
            return sum;
        }
    }

    private void Sample()
    {
        var d = _running();
        if (d is null) return;
        Interlocked.Increment(ref _samples[(int)d.CurrentActivity]);
    }

    /// <summary>Stops sampling: no sample is taken once this returns.</summary>
    public void Dispose()
    {
        _stopped = true;
        _thread.Join();
    }
}
