using Drk.Experiments.Engines;
using Drk.Experiments.Figures;
using Drk.Experiments.Running;
using Drk.Experiments.Specs;
using Drk.Experiments.Tests.Fakes;

namespace Drk.Experiments.Tests.Running;

/// <summary>A runner wired to fake engines and a captured plain progress log.</summary>
internal sealed class RunnerHarness
{
    public RunnerHarness(params FakeEngine[] engines)
    {
        Engines = engines.Length > 0 ? engines : [new FakeEngine("drk")];
        Runner = new ExperimentRunner(new EngineCatalog(Engines), new PlainProgress(Log), new GnuplotRenderer());
    }

    public FakeEngine[] Engines { get; }

    public FakeEngine Drk => Engines[0];

    public StringWriter Log { get; } = new();

    public ExperimentRunner Runner { get; }

    public Task<ExperimentOutcome> RunAsync(ExperimentSpec spec, string outDir, bool resume = false, bool retryFailed = false,
        ChunkSelector? chunk = null, int jobs = 1, CancellationToken cancellation = default) =>
        Runner.RunAsync(spec, new RunOptions
        {
            OutputDirectory = outDir,
            Resume = resume,
            RetryFailed = retryFailed,
            Chunk = chunk,
            Jobs = jobs,
            Command = "./drk experiment test.yaml",
        }, cancellation);

    public static int Lines(string path) => File.ReadAllLines(path).Count(l => l.Trim().Length > 0);
}
