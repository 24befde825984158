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

    [SkippableFact]
    public async Task Each_configuration_run_has_a_QEMU_run_of_its_own()
    {
        var build = GuestPrerequisites.RequireBuild();
        Skip.If(QemuRunner.WhyUnavailable is not null, QemuRunner.WhyUnavailable);
        var r = await DrkCli.RunAsync(["bench", "--kernel", build.KernelPath, "--initrd", build.InitrdPath,
            "--workloads", "run=compute-user iterations=200", "-c", "interp,auto", "--runs", "2"], TimeSpan.FromMinutes(4));

        Assert.True(r.ExitCode == 0, DrkCli.Describe(r));
        Assert.Contains("every drk run has a QEMU run beside it", r.StandardOutput);
        var rows = r.StandardOutput.Split('\n').Where(l => l.StartsWith("run=compute-user", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, rows.Count);
        // Two configurations in two rounds: four QEMU runs, not one per round.
        var qemu = Assert.Single(rows, row => row.Contains("qemu-tcg", StringComparison.Ordinal));
        Assert.EndsWith("yes  4 runs", qemu.TrimEnd());
        // Each drk row has a ratio to QEMU and a range (two rounds), and printed what QEMU printed.
        Assert.All(rows.Where(row => !row.Contains("qemu-tcg", StringComparison.Ordinal)),
            row => Assert.Matches(@"\d+\.\d\d +\d+\.\d\d +yes +\d+\.\d\d-\d+\.\d\d$", row.TrimEnd()));
    }

    [Fact]
    public async Task No_rounds_is_refused_with_one_line()
    {
        var r = await DrkCli.RunAsync(["bench", "--runs", "0", "--no-qemu"]);

        Assert.True(r.ExitCode == 64, DrkCli.Describe(r));
        Assert.Equal("drk bench: --runs must be at least 1 (got 0)", r.StandardError.Trim());
    }
}
