using Drk.Experiments.Engines;
using Drk.Experiments.Recording;
using Drk.Experiments.Running;
using Drk.Experiments.Specs;
using Drk.Experiments.Tests.Fakes;

namespace Drk.Experiments.Tests.Running;

public sealed class FailedRunTests : IDisposable
{
    private readonly TempExperiment _repo = new();

    public void Dispose() => _repo.Dispose();

    [Fact]
    public async Task Failed_runs_are_recorded_with_their_reason_and_the_rest_go_on()
    {
        var spec = SpecLoader.Load(_repo.WriteSpec("small", Fakes.Specs.Small));
        var outDir = _repo.Results("small");
        var harness = new RunnerHarness();
        harness.Drk.Behaviour = (r, _) => (r.Workload.Name, r.Variant.Tool) switch
        {
            ("beta", "inscount") => new EngineOutcome
            {
                WallSeconds = 0.5, ExitCode = 3, GuestStatus = 3,
                Output = ["oops: page fault at 0x0"], Diagnostics = ["drk: guest stopped with status 3"],
            },
            ("alpha", "null") => new EngineOutcome { WallSeconds = 30, TimedOut = true },
            ("beta", "null") => new EngineOutcome { WallSeconds = 0.2, ExitCode = 0, GuestStatus = 0, Output = ["no result here"] },
            ("alpha", "inscount") => throw new InvalidOperationException("engine bug"),
            _ => null,
        };

        var outcome = await harness.RunAsync(spec, outDir);

        Assert.Equal(ExitStatus.RunsFailed, outcome.ExitStatus);
        Assert.Equal(8, outcome.Ok);      // the two no-tool cells, 4 runs each
        Assert.Equal(16, outcome.Failed);
        var records = ResultStore.ReadJournal(Path.Combine(outDir, ResultStore.JournalFile)).Records;
        string ReasonOf(string workload, string tool) => records.First(r => r.Workload == workload && r.Tool == tool).Reason!;
        Assert.Equal("guest exited with status 3: drk: guest stopped with status 3", ReasonOf("beta", "inscount"));
        Assert.Equal("timed out after 30 s", ReasonOf("alpha", "null"));
        Assert.StartsWith("no result line for workload 'beta'", ReasonOf("beta", "null"), StringComparison.Ordinal);
        Assert.Equal("internal error in engine drk: InvalidOperationException: engine bug", ReasonOf("alpha", "inscount"));

        var failed = records.First(r => r.Workload == "beta" && r.Tool == "inscount");
        Assert.Equal(RunStatus.Failed, failed.Status);
        Assert.Contains("oops: page fault at 0x0", File.ReadAllText(Path.Combine(outDir, failed.Log!)), StringComparison.Ordinal);
        var report = File.ReadAllText(Path.Combine(outDir, "README.md"));
        Assert.Contains("## Failed runs (16)", report, StringComparison.Ordinal);
        Assert.Contains("timed out after 30 s", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retry_failed_runs_again_only_the_failed_ones()
    {
        var spec = SpecLoader.Load(_repo.WriteSpec("small", Fakes.Specs.Small));
        var outDir = _repo.Results("small");
        var flaky = new RunnerHarness();
        flaky.Drk.Behaviour = (r, _) => r.Workload.Name == "beta" && r.Variant.Tool == "null"
            ? new EngineOutcome { WallSeconds = 1, ExitCode = 1, GuestStatus = 1 }
            : null;
        await flaky.RunAsync(spec, outDir);

        var plainResume = new RunnerHarness();
        await plainResume.RunAsync(spec, outDir, resume: true);
        Assert.Equal(0, plainResume.Drk.Calls);

        var retry = new RunnerHarness();
        var outcome = await retry.RunAsync(spec, outDir, resume: true, retryFailed: true);

        Assert.Equal(4, retry.Drk.Calls);
        Assert.Equal(ExitStatus.Success, outcome.ExitStatus);
        Assert.All(retry.Drk.Requests, r => Assert.Equal(("beta", "null"), (r.Workload.Name, r.Variant.Tool)));
    }
}
