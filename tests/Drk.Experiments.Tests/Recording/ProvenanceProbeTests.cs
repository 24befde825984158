using Drk.Experiments.Engines;
using Drk.Experiments.Recording;
using Drk.Experiments.Tests.Fakes;

namespace Drk.Experiments.Tests.Recording;

public sealed class ProvenanceProbeTests : IDisposable
{
    private readonly TempExperiment _repo = new();

    public void Dispose() => _repo.Dispose();

    private async Task Git(params string[] args)
    {
        var r = await ChildProcess.RunAsync("git", ["-C", _repo.Root, "-c", "user.name=t", "-c", "user.email=t@example.org", .. args], TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.True(r.ExitCode == 0, string.Join("\n", r.Stderr));
    }

    [SkippableFact]
    public async Task Changes_inside_the_results_folder_do_not_make_the_checkout_dirty()
    {
        Skip.If(ExecutableSearch.Find("git") is null, "needs git");
        var spec = _repo.WriteSpec("small", Fakes.Specs.Small);
        var results = _repo.Results("small");
        Directory.CreateDirectory(results);
        File.WriteAllText(Path.Combine(results, "runs.jsonl"), "{}\n");
        await Git("init", "-q");
        await Git("add", ".");
        await Git("commit", "-q", "-m", "committed results");

        Task<InvocationRecord> Probe() => ProvenanceProbe.CaptureAsync("small", spec, "test", 1, null, CancellationToken.None, results);

        var clean = await Probe();
        Assert.Equal(40, clean.Commit!.Length);
        Assert.False(clean.Dirty);

        // Replacing or resuming the committed results: still the committed code and spec.
        File.Delete(Path.Combine(results, "runs.jsonl"));
        Assert.False((await Probe()).Dirty);

        // A changed spec (or any file outside the results) is a dirty checkout.
        File.AppendAllText(spec, "\n# changed\n");
        Assert.True((await Probe()).Dirty);
    }

    [Fact]
    public void Porcelain_paths_are_relative_to_the_top_and_renames_count_by_their_new_name()
    {
        Assert.Equal("/repo/results/a/runs.jsonl", ProvenanceProbe.ChangedPath("/repo", " D results/a/runs.jsonl"));
        Assert.Equal("/repo/experiments/new.yaml", ProvenanceProbe.ChangedPath("/repo", "R  experiments/old.yaml -> experiments/new.yaml"));
    }
}
