using Drk.Experiments.Analysis;
using Drk.Experiments.Recording;

namespace Drk.Experiments.Tests.Analysis;

public sealed class InsCountChecksTests
{
    private static RunRecord Run(string tier, int repetition, string scope, double total, double kernelInstructions, string workload = "ioctl") => new()
    {
        Key = $"{workload}|drk|{tier}|inscount|{scope}|1|r{repetition}",
        Experiment = "t",
        Invocation = "i",
        Workload = workload,
        Engine = "drk",
        Tier = tier,
        Tool = "inscount",
        Scope = scope,
        Repetition = repetition,
        Status = RunStatus.Ok,
        WallSeconds = 1,
        Stats = new Dictionary<string, double> { [InsCountChecks.TotalStat] = total, [InsCountChecks.KernelInstructionsStat] = kernelInstructions },
    };

    [Fact]
    public void Equal_counts_in_every_tier_and_repetition_pass()
    {
        RunRecord[] runs =
        [
            Run("interp", 1, "kernel+modules", 10_095_115, 10_095_115),
            Run("auto", 1, "kernel+modules", 10_095_115, 10_095_115),
            Run("auto", 2, "kernel+modules", 10_095_115, 10_095_115),
            // In the kernel scope module code is not counted: less than the kernel-mode total, and that is right.
            Run("auto", 1, "kernel", 10_020_973, 10_095_115),
        ];

        Assert.True(InsCountChecks.Applies(runs));
        Assert.Empty(InsCountChecks.Check(runs));
    }

    [Fact]
    public void A_count_that_differs_between_tiers_is_reported()
    {
        RunRecord[] runs = [Run("interp", 1, "kernel", 100, 500), Run("auto", 1, "kernel", 100, 500), Run("auto", 2, "kernel", 101, 500)];

        var problem = Assert.Single(InsCountChecks.Check(runs));

        Assert.Equal("ioctl: inscount [kernel] counted differently across tiers or repetitions: 100 from interp r1, auto r1; 101 from auto r2", problem);
    }

    [Fact]
    public void A_kernel_plus_modules_count_that_misses_retired_kernel_instructions_is_reported()
    {
        RunRecord[] runs = [Run("auto", 1, "kernel+modules", 9_000, 10_000)];

        var problem = Assert.Single(InsCountChecks.Check(runs));

        Assert.Equal("ioctl on auto r1: inscount [kernel+modules] counted 9,000 instructions, but drk retired 10,000 in kernel mode", problem);
    }

    [Fact]
    public void Failed_and_warm_up_runs_and_other_tools_are_not_checked()
    {
        RunRecord[] runs =
        [
            Run("auto", 1, "kernel", 100, 500),
            Run("auto", 2, "kernel", 7, 500) with { Status = RunStatus.Failed },
            Run("auto", 0, "kernel", 8, 500) with { Warmup = true },
            Run("auto", 3, "kernel+modules", 1, 500) with { Tool = "null" },
        ];

        Assert.Empty(InsCountChecks.Check(runs));
        Assert.False(InsCountChecks.Applies([runs[3]]));
    }
}
