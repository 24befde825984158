using System.Text.Json;
using Drk.Experiments.Engines;
using Drk.Experiments.Matrix;
using Drk.Experiments.Recording;
using Drk.Experiments.Running;
using Drk.Experiments.Specs;
using Drk.Experiments.Tests.Fakes;

namespace Drk.Experiments.Tests.Running;

public sealed class ResumeTests : IDisposable
{
    private readonly TempExperiment _repo = new();

    public void Dispose() => _repo.Dispose();

    private ExperimentSpec Small() => SpecLoader.Load(_repo.WriteSpec("small", Fakes.Specs.Small));

    [Fact]
    public async Task An_interrupted_run_resumes_without_repeating_or_losing_runs()
    {
        var spec = Small();
        var outDir = _repo.Results("small");
        var total = RunMatrix.Expand(spec).Runs.Count;
        Assert.Equal(24, total);

        // First invocation: interrupted (Ctrl-C) after the 7th run has finished.
        using var interrupt = new CancellationTokenSource();
        var first = new RunnerHarness();
        first.Drk.AfterRun = n => { if (n == 7) interrupt.Cancel(); };
        var outcome1 = await first.RunAsync(spec, outDir, cancellation: interrupt.Token);
        Assert.True(outcome1.Interrupted);
        Assert.Equal(ExitStatus.Interrupted, outcome1.ExitStatus);
        var journal = Path.Combine(outDir, ResultStore.JournalFile);
        // The 7th run finished before the interruption was noticed, so it is recorded; no report yet.
        Assert.Equal(7, RunnerHarness.Lines(journal));
        Assert.False(File.Exists(Path.Combine(outDir, "README.md")));

        // The process died while writing an 8th record: a torn last line.
        File.AppendAllText(journal, "{\"key\":\"beta|drk|jit|inscount|kernel|1|r1\",\"experi");

        // Without --resume the runner refuses to touch existing results.
        await Assert.ThrowsAsync<ExperimentException>(() => new RunnerHarness().RunAsync(spec, outDir));

        var second = new RunnerHarness();
        var outcome2 = await second.RunAsync(spec, outDir, resume: true);

        Assert.Equal(ExitStatus.Success, outcome2.ExitStatus);
        Assert.Equal(total - 7, second.Drk.Calls);
        Assert.Equal(7, outcome2.AlreadyRecorded);
        Assert.Contains(outcome2.Notes, n => n.Contains("dropped 1 unreadable line", StringComparison.Ordinal));
        var records = File.ReadAllLines(journal).Select(l => JsonSerializer.Deserialize<RunRecord>(l, JsonFormat.Options)!).ToList();
        Assert.Equal(total, records.Count);
        Assert.Equal(total, records.Select(r => r.Key).Distinct().Count());
        Assert.Equal(RunMatrix.Expand(spec).Runs.Select(r => r.Key).Order(), records.Select(r => r.Key).Order());
        Assert.Equal(total + 1, RunnerHarness.Lines(Path.Combine(outDir, ResultStore.CsvFile)));
        Assert.Equal(2, ResultStore.ReadInvocations(outDir).Count);
        Assert.True(File.Exists(Path.Combine(outDir, "README.md")));
    }

    [Fact]
    public async Task Resuming_a_complete_experiment_runs_nothing_and_redraws_the_report()
    {
        var spec = Small();
        var outDir = _repo.Results("small");
        await new RunnerHarness().RunAsync(spec, outDir);

        var again = new RunnerHarness();
        var outcome = await again.RunAsync(spec, outDir, resume: true);

        Assert.Equal(0, again.Drk.Calls);
        Assert.Equal(24, outcome.AlreadyRecorded);
        Assert.Equal(ExitStatus.Success, outcome.ExitStatus);
    }

    [Fact]
    public async Task Runs_of_an_unavailable_engine_are_left_for_a_later_resume()
    {
        var spec = Small();
        var outDir = _repo.Results("small");
        var missing = new RunnerHarness(new FakeEngine("drk") { Unavailable = "this build of drk has no working `run` command yet" });

        var outcome = await missing.RunAsync(spec, outDir);

        Assert.Equal(0, missing.Drk.Calls);
        Assert.Equal(24, outcome.SkippedUnavailable);
        Assert.Equal(ExitStatus.RunsFailed, outcome.ExitStatus);
        // (With gnuplot absent there is a second note saying how to install it.)
        Assert.Contains("no working `run` command", Assert.Single(outcome.Notes, n => n.StartsWith("engine drk", StringComparison.Ordinal)), StringComparison.Ordinal);

        var later = new RunnerHarness();
        var resumed = await later.RunAsync(spec, outDir, resume: true);
        Assert.Equal(24, later.Drk.Calls);
        Assert.Equal(ExitStatus.Success, resumed.ExitStatus);
    }

    [Fact]
    public async Task Parallel_jobs_record_every_run_exactly_once()
    {
        var spec = Small();
        var outDir = _repo.Results("small");
        var harness = new RunnerHarness();

        var outcome = await harness.RunAsync(spec, outDir, jobs: 2);

        Assert.Equal(24, outcome.Ok);
        var keys = ResultStore.ReadJournal(Path.Combine(outDir, ResultStore.JournalFile)).Records.Select(r => r.Key).ToList();
        Assert.Equal(24, keys.Distinct().Count());
        Assert.Equal(24, keys.Count);
    }

    [Fact]
    public async Task Warm_up_runs_are_recorded_but_left_out_of_the_statistics()
    {
        var spec = Small();
        var outDir = _repo.Results("small");
        var harness = new RunnerHarness();
        // Warm-ups (the first round: 6 cells) are 100x slower: if they leaked into the medians the slowdowns would show it.
        harness.Drk.Behaviour = (r, call) => call <= 6 ? FakeEngine.Ok(r, 100 * FakeEngine.ModelSeconds(r)) : null;

        await harness.RunAsync(spec, outDir);

        var records = ResultStore.ReadJournal(Path.Combine(outDir, ResultStore.JournalFile)).Records;
        Assert.Equal(6, records.Count(r => r.Warmup));
        var analysis = Drk.Experiments.Analysis.ExperimentAnalysis.Compute(spec, records);
        var inscount = analysis.Cells.Single(c => c.Variant.Tool == "inscount" && c.Workload == "alpha");
        Assert.InRange(inscount.Slowdown!.Value.Value, 2.3, 2.7);
        Assert.Equal(3, inscount.Ok);
    }
}
