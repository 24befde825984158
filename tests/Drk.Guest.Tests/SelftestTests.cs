using System.Text.RegularExpressions;

namespace Drk.Guest.Tests;

/// <summary>The "selftest" command line in QEMU: every suite passes, and the output repeats exactly.</summary>
public sealed partial class SelftestTests
{
    [GeneratedRegex(@"^selftest: (\d+) of \1 suites passed$", RegexOptions.Multiline)]
    private static partial Regex AllSuitesPassed();

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Selftest_passes_twice_with_identical_output(int cpus)
    {
        var build = GuestPrerequisites.RequireBoot();
        var options = new QemuOptions(build.KernelPath, build.InitrdPath, "selftest", cpus);

        var first = await QemuRunner.RunAsync(options);
        var second = await QemuRunner.RunAsync(options);

        foreach (var run in new[] { first, second })
        {
            Assert.True(run.GuestStatus == 0, run.Describe());
            Assert.Matches(AllSuitesPassed(), run.Serial);
            Assert.DoesNotContain("FAIL", run.Serial);
            Assert.Contains($"[m] cpu: {cpus} cpu", run.Serial);
        }
        if (cpus > 1)
            Assert.Contains($"smp: {cpus} cpus online", first.Serial);
        Assert.Equal(first.Deterministic, second.Deterministic);
    }

    [SkippableFact]
    public async Task Entry_through_the_64_bit_contract_gives_the_same_output_as_PVH()
    {
        var build = GuestPrerequisites.RequireBoot();
        var pvh = await QemuRunner.RunAsync(new QemuOptions(build.KernelPath, build.InitrdPath, "selftest", Cpus: 2));
        var entry64 = await QemuRunner.RunAsync(new QemuOptions(build.Entry64KernelPath, build.InitrdPath, "selftest", Cpus: 2));

        Assert.True(entry64.GuestStatus == 0, entry64.Describe());
        Assert.Equal(pvh.Deterministic, entry64.Deterministic);
    }

    [SkippableFact]
    public async Task Without_ACPI_the_cpu_count_comes_from_the_ncpus_option()
    {
        var build = GuestPrerequisites.RequireBoot();
        var run = await QemuRunner.RunAsync(new QemuOptions(build.KernelPath, build.InitrdPath, "selftest ncpus=2",
                                                            Cpus: 2, Machine: "microvm,acpi=off"));

        Assert.True(run.GuestStatus == 0, run.Describe());
        Assert.Contains("[m] acpi: no RSDP", run.Serial);
        Assert.Contains("[m] cpu: 2 cpus (ncpus= option)", run.Serial);
        Assert.Contains("smp: 2 cpus online", run.Serial);
    }
}
