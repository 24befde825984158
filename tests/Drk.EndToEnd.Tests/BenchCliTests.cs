using Drk.Guest.Tests;

namespace Drk.EndToEnd.Tests;

/// <summary>
/// <c>drk bench</c> (the workload suite): rounds that alternate the configurations give medians and
/// every round's run must print the same output and count; a bad round count is refused.
/// </summary>
public sealed class BenchCliTests
{
    [SkippableFact]
    public async Task Several_rounds_report_medians_and_check_every_run()
    {
        var build = GuestPrerequisites.RequireBuild();
        var r = await DrkCli.RunAsync(["bench", "--kernel", build.KernelPath, "--initrd", build.InitrdPath,
            "--workloads", "run=compute-user iterations=200", "-c", "interp,auto", "--no-qemu", "--runs", "2"], TimeSpan.FromMinutes(4));

        Assert.True(r.ExitCode == 0, DrkCli.Describe(r));
        Assert.Contains("2 round(s)", r.StandardOutput);
        Assert.Contains("medians of the rounds", r.StandardOutput);
        var rows = r.StandardOutput.Split('\n').Where(l => l.StartsWith("run=compute-user", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, rows.Count);
        Assert.All(rows, row => Assert.EndsWith("yes", row.TrimEnd()));
    }

    [Fact]
    public async Task No_rounds_is_refused_with_one_line()
    {
        var r = await DrkCli.RunAsync(["bench", "--runs", "0", "--no-qemu"]);

        Assert.True(r.ExitCode == 64, DrkCli.Describe(r));
        Assert.Equal("drk bench: --runs must be at least 1 (got 0)", r.StandardError.Trim());
    }
}
