using Drk.Experiments.Engines;

namespace Drk.Experiments.Tests.Engines;

public sealed class ChildProcessTests
{
    [SkippableFact]
    public async Task Output_and_exit_code_are_captured()
    {
        Skip.If(ExecutableSearch.Find("sh") is null, "needs sh");

        var r = await ChildProcess.RunAsync("sh", ["-c", "echo one; echo two >&2; exit 3"], TimeSpan.FromSeconds(20), CancellationToken.None);

        Assert.Equal(3, r.ExitCode);
        Assert.Equal(["one"], r.Stdout);
        Assert.Equal(["two"], r.Stderr);
        Assert.False(r.TimedOut);
    }

    [SkippableFact]
    public async Task A_process_past_its_time_limit_is_killed()
    {
        Skip.If(ExecutableSearch.Find("sleep") is null, "needs sleep");

        var r = await ChildProcess.RunAsync("sleep", ["30"], TimeSpan.FromMilliseconds(300), CancellationToken.None);

        Assert.True(r.TimedOut);
        Assert.Null(r.ExitCode);
        Assert.InRange(r.WallSeconds, 0.2, 10);
    }

    [Fact]
    public async Task A_missing_program_is_a_start_error_not_an_exception()
    {
        var r = await ChildProcess.RunAsync("/nonexistent/drk-engine", [], TimeSpan.FromSeconds(5), CancellationToken.None);

        Assert.StartsWith("cannot start /nonexistent/drk-engine", r.StartError, StringComparison.Ordinal);
    }
}
