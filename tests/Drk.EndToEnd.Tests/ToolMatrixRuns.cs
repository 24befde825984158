using System.Collections.Concurrent;

namespace Drk.EndToEnd.Tests;

/// <summary>
/// The runs of <see cref="ToolMatrix"/>, made on first use and shared by the tests that read them
/// (an xunit class fixture): two at a time, one per core.
/// </summary>
public sealed class ToolMatrixRuns
{
    private readonly ConcurrentDictionary<(string, int), Lazy<IReadOnlyList<ToolRunOutcome>>> _rows = new();
    private readonly Lazy<GuestImages> _images = new(GuestImages.Require, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The guest images (skips the calling test when the guest cannot be built).</summary>
    public GuestImages Images => _images.Value;

    /// <summary>The outcomes of <see cref="ToolMatrix.For"/>'s configurations, in its order.</summary>
    public IReadOnlyList<ToolRunOutcome> Get(string commandLine, int cpus)
    {
        var images = Images;
        return _rows.GetOrAdd((commandLine, cpus), _ => new Lazy<IReadOnlyList<ToolRunOutcome>>(() =>
        {
            var configurations = ToolMatrix.For(commandLine, cpus);
            var outcomes = new ToolRunOutcome[configurations.Count];
            Parallel.For(0, configurations.Count, new ParallelOptions { MaxDegreeOfParallelism = 2 },
                i => outcomes[i] = InProcessRun.Run(images, commandLine, cpus, configurations[i]));
            return outcomes;
        }, LazyThreadSafetyMode.ExecutionAndPublication)).Value;
    }
}
