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

    [SkippableFact]
    public async Task Cpu_time_counts_work_but_not_waiting()
    {
        Skip.If(ExecutableSearch.Find("sh") is null || !OperatingSystem.IsLinux(), "needs sh on Linux");

        // Other tests of this assembly start children in parallel, which voids a measurement (null); retry until
        // each child ran alone.
        ProcessResult? busy = null, idle = null;
        for (var attempt = 0; attempt < 20 && (busy?.CpuSeconds is null || idle?.CpuSeconds is null); attempt++)
        {
            if (busy?.CpuSeconds is null)
                busy = await ChildProcess.RunAsync("sh", ["-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done"], TimeSpan.FromMinutes(1), CancellationToken.None);
            if (idle?.CpuSeconds is null)
                idle = await ChildProcess.RunAsync("sh", ["-c", "sleep 0.6"], TimeSpan.FromMinutes(1), CancellationToken.None);
        }

        Skip.If(busy?.CpuSeconds is null || idle?.CpuSeconds is null, "children of other tests overlapped every attempt");
        // A shell loop burns CPU; the CPU time cannot exceed the wall time of a single-threaded child (plus tick rounding).
        Assert.InRange(busy!.CpuSeconds!.Value, 0.05, busy.WallSeconds + 0.05);
        // Sleeping takes wall time but almost no CPU.
        Assert.True(idle!.WallSeconds >= 0.6, $"wall {idle.WallSeconds}");
        Assert.InRange(idle.CpuSeconds!.Value, 0, 0.2);
    }

    [SkippableFact]
    public async Task Overlapping_children_get_no_cpu_time()
    {
        Skip.If(ExecutableSearch.Find("sleep") is null, "needs sleep");

        var first = ChildProcess.RunAsync("sleep", ["0.4"], TimeSpan.FromMinutes(1), CancellationToken.None);
        var second = ChildProcess.RunAsync("sleep", ["0.4"], TimeSpan.FromMinutes(1), CancellationToken.None);
        var results = await Task.WhenAll(first, second);

        Assert.All(results, r => Assert.Null(r.CpuSeconds));
    }

    [Fact]
    public async Task A_missing_program_is_a_start_error_not_an_exception()
    {
        var r = await ChildProcess.RunAsync("/nonexistent/drk-engine", [], TimeSpan.FromSeconds(5), CancellationToken.None);

        Assert.StartsWith("cannot start /nonexistent/drk-engine", r.StartError, StringComparison.Ordinal);
    }
}
