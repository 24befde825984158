namespace Drk.Dispatcher.Jit;

/// <summary>
/// A replayable stand-in for the background compiler (a test hook): compilations a
/// <see cref="JitTier"/> asks for wait in order and are finished on the vCPU's own thread at block
/// starts chosen by a seeded random draw, so any moment at which compiled code can appear is
/// reproducible from the seed.
/// </summary>
/// <remarks>
/// The background compiler publishes code whenever the host lets it; the vCPU picks it up at the
/// next block it starts. So every schedule this produces is one a slow or fast background thread
/// could produce, and results must not depend on the seed.
/// </remarks>
public sealed class CompileSchedule
{
    // Thresholds and completion odds (one in N per block start) that the seed picks from: eager to
    // very late compilation, and code that appears at once to code that waits thousands of blocks.
    private static readonly int[] Thresholds = [0, 1, 3, 20, 100, 1000];
    private static readonly int[] Odds = [1, 2, 16, 256, 4096];

    private readonly Random _random;
    private readonly int _odds;
    private readonly Queue<Action> _pending = new();

    /// <summary>A schedule drawn from <paramref name="seed"/>: its threshold and how soon queued compilations finish.</summary>
    public CompileSchedule(int seed)
    {
        Seed = seed;
        _random = new Random(seed);
        Threshold = Thresholds[_random.Next(Thresholds.Length)];
        _odds = Odds[_random.Next(Odds.Length)];
    }

    /// <summary>The seed the schedule was drawn from.</summary>
    public int Seed { get; }

    /// <summary>Interpreted executions of a block before it is compiled, drawn from the seed.</summary>
    public int Threshold { get; }

    /// <summary>Compilations queued and not finished yet.</summary>
    public int Pending => _pending.Count;

    internal void Enqueue(Action compile) => _pending.Enqueue(compile);

    /// <summary>At a block start: finishes the oldest queued compilation when the draw says so.</summary>
    internal void Step()
    {
        if (_pending.Count > 0 && _random.Next(_odds) == 0) _pending.Dequeue()();
    }

    /// <summary>Finishes every queued compilation.</summary>
    internal void Drain()
    {
        while (_pending.Count > 0) _pending.Dequeue()();
    }

    /// <inheritdoc />
    public override string ToString() => $"compile schedule {Seed} (threshold {Threshold}, 1 in {_odds} block starts)";
}
