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

    /// <summary>
    /// With the APIC timer at 3,000 counts (48 us on QEMU's 1 GHz bus, against 10 ms by default)
    /// preemption falls in places the default tick almost never reaches: a race detector. It found
    /// that a tick pending when a new thread enables interrupts let the sched suite's setter run
    /// before its spinner had looked at the flag (2 failing runs of 42 at 2,000-5,000 counts on the
    /// old selftest; CI met it once at the default tick).
    /// </summary>
    [SkippableTheory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Selftest_passes_with_a_tick_two_hundred_times_as_often(int cpus)
    {
        var build = GuestPrerequisites.RequireBoot();
        var run = await QemuRunner.RunAsync(new QemuOptions(build.KernelPath, build.InitrdPath, "selftest timer=3000", cpus));

        Assert.True(run.GuestStatus == 0, run.Describe());
        Assert.Matches(AllSuitesPassed(), run.Serial);
        Assert.DoesNotContain("FAIL", run.Serial);
        // Many more ticks than at the default rate, so the option took effect.
        var ticks = SerialOutput.InitTicks(run.Serial);
        Assert.True(ticks > 100, $"{ticks} ticks\n{run.Describe()}");
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
