using Drk.Experiments.Engines;
using Drk.Experiments.Matrix;
using Drk.Experiments.Recording;
using Drk.Experiments.Running;
using Drk.Experiments.Slurm;
using Drk.Experiments.Specs;
using Drk.Experiments.Tests.Fakes;

namespace Drk.Experiments.Tests.Running;

public sealed class SlurmTests : IDisposable
{
    private readonly TempExperiment _repo = new();

    public void Dispose() => _repo.Dispose();

    [Fact]
    public void The_job_array_has_one_task_per_chunk_and_the_merge_waits_for_it()
    {
        var specPath = _repo.WriteSpec("small", Fakes.Specs.Small);
        var spec = SpecLoader.Load(specPath);
        var outDir = _repo.Results("small");

        var scripts = SlurmScriptWriter.Write(spec, specPath, outDir, new DrkLauncher("/usr/bin/dotnet", ["/opt/drk/drk.dll"]), tasks: 4);

        Assert.Equal(4, scripts.Tasks);
        Assert.Equal(6, scripts.Cells);
        var array = File.ReadAllText(scripts.ArrayJob);
        Assert.Contains("#SBATCH --array=0-3", array, StringComparison.Ordinal);
        Assert.Contains("--chunk \"${SLURM_ARRAY_TASK_ID}/4\" --resume", array, StringComparison.Ordinal);
        Assert.Contains("DRK=${DRK:-/usr/bin/dotnet /opt/drk/drk.dll}", array, StringComparison.Ordinal);
        Assert.Contains($"--out {Path.GetFullPath(outDir)}", array, StringComparison.Ordinal);
        Assert.Contains("--merge", File.ReadAllText(scripts.MergeJob), StringComparison.Ordinal);
        Assert.Contains("--dependency=afterany:", File.ReadAllText(scripts.Submit), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chunks_write_their_own_journals_and_the_merge_combines_them()
    {
        var spec = SpecLoader.Load(_repo.WriteSpec("small", Fakes.Specs.Small));
        var outDir = _repo.Results("small");
        var total = RunMatrix.Expand(spec).Runs.Count;

        // What three array tasks would do, one after another here.
        var calls = 0;
        for (var i = 0; i < 3; i++)
        {
            var task = new RunnerHarness();
            var outcome = await task.RunAsync(spec, outDir, chunk: new ChunkSelector(i, 3), resume: true);
            Assert.Null(outcome.ReportPath);
            Assert.True(File.Exists(Path.Combine(outDir, $"runs.chunk-{i}-of-3.jsonl")));
            calls += task.Drk.Calls;
        }
        Assert.Equal(total, calls);
        Assert.False(File.Exists(Path.Combine(outDir, ResultStore.JournalFile)));

        var merged = await new RunnerHarness().Runner.MergeAsync(spec, outDir, CancellationToken.None);

        Assert.Equal(ExitStatus.Success, merged.ExitStatus);
        Assert.Equal(total, RunnerHarness.Lines(Path.Combine(outDir, ResultStore.JournalFile)));
        Assert.Equal(total + 1, RunnerHarness.Lines(Path.Combine(outDir, ResultStore.CsvFile)));
        Assert.Equal(3, ResultStore.ReadInvocations(outDir).Count);
        Assert.True(File.Exists(merged.ReportPath));
    }

    [Fact]
    public async Task A_merge_with_a_missing_chunk_says_what_is_missing()
    {
        var spec = SpecLoader.Load(_repo.WriteSpec("small", Fakes.Specs.Small));
        var outDir = _repo.Results("small");
        await new RunnerHarness().RunAsync(spec, outDir, chunk: new ChunkSelector(0, 2));

        var merged = await new RunnerHarness().Runner.MergeAsync(spec, outDir, CancellationToken.None);

        Assert.Equal(ExitStatus.RunsFailed, merged.ExitStatus);
        Assert.Equal(12, merged.MissingInResults);
        Assert.Contains(merged.Notes, n => n.Contains("12 planned runs have no record", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("0/1", 0, 1)]
    [InlineData("7/8", 7, 8)]
    public void Chunk_selectors_parse(string text, int index, int count) =>
        Assert.Equal(new ChunkSelector(index, count), ChunkSelector.Parse(text, out _));

    [Theory]
    [InlineData("3/3")]
    [InlineData("1")]
    [InlineData("a/b")]
    [InlineData("-1/2")]
    public void Bad_chunk_selectors_are_rejected(string text)
    {
        Assert.Null(ChunkSelector.Parse(text, out var error));
        Assert.Contains("--chunk must be i/n", error, StringComparison.Ordinal);
    }
}
