namespace Drk.Guest.Tests;

/// <summary>User processes in QEMU: bad pointers give error codes, faults kill only the process, and the runner's options.</summary>
public sealed class UserModeTests
{
    [SkippableFact]
    public async Task A_program_passing_bad_pointers_to_every_system_call_gets_EFAULT_not_an_oops()
    {
        var build = GuestPrerequisites.RequireBoot();
        var run = await QemuRunner.RunAsync(new QemuOptions(build.KernelPath, build.InitrdPath, "run=usertest"));

        Assert.True(run.GuestStatus == 0, run.Describe());
        Assert.Matches(@"(?m)^usertest: bad pointers: ok \(\d+ checks\)$", run.Serial);
        foreach (var area in new[] { "basic", "files", "pipes", "processes", "memory", "chardev", "ramblk", "loopback", "compute", "modules" })
            Assert.Matches($@"(?m)^usertest: {area}: ok \(\d+ checks\)$", run.Serial);
        Assert.DoesNotContain("OOPS", run.Serial);
        Assert.DoesNotContain("FAIL", run.Serial);
        // Children that fault on purpose are killed, with a report, and the kernel goes on.
        Assert.Matches(@"(?m)^process \d+ \(usertest\) killed: page fault at rip 4[0-9a-f]{5}, address 1000, error code 6$", run.Serial);
        Assert.Matches(@"(?m)^process \d+ \(usertest\) killed: invalid opcode at rip ", run.Serial);
        Assert.Matches(@"(?m)^process \d+ \(usertest\) killed: divide error at rip ", run.Serial);
        Assert.Matches(@"(?m)^memcheck workload=usertest .* verdict=ok$", run.Serial);
    }

    [SkippableFact]
    public async Task Iteration_counts_come_from_the_command_line_overall_and_per_workload()
    {
        var build = GuestPrerequisites.RequireBoot();
        var run = await QemuRunner.RunAsync(new QemuOptions(build.KernelPath, build.InitrdPath,
            "run=null-syscall,pipe,fork-exit iterations=100 iterations.fork-exit=7"));

        Assert.True(run.GuestStatus == 0, run.Describe());
        var results = ResultLine.ParseAll(run.Serial);
        Assert.Equal([("null-syscall", 100L), ("pipe", 100L), ("fork-exit", 7L)], results.Select(r => (r.Workload, r.Iterations)));
    }

    [SkippableFact]
    public async Task An_unknown_workload_fails_the_run_after_the_others_ran()
    {
        var build = GuestPrerequisites.RequireBoot();
        var run = await QemuRunner.RunAsync(new QemuOptions(build.KernelPath, build.InitrdPath, "run=no-such-workload,null-syscall iterations=10"));

        Assert.True(run.GuestStatus == 1, run.Describe());
        Assert.Contains("run: no-such-workload: no such workload (no /bin/no-such-workload in the initrd)", run.Serial);
        Assert.Contains("result workload=null-syscall iterations=10 ", run.Serial);
        Assert.Contains("run: 1 of 2 workloads passed", run.Serial);
    }

    [SkippableFact]
    public async Task Selftest_passes_with_modules_loaded_at_boot_and_leaves_them_loaded()
    {
        var build = GuestPrerequisites.RequireBoot();
        var run = await QemuRunner.RunAsync(new QemuOptions(build.KernelPath, build.InitrdPath,
            "modules=good,chardev,ramblk,loopback,compute selftest run=dev-rw,blk-io iterations=50", Cpus: 2));

        Assert.True(run.GuestStatus == 0, run.Describe());
        Assert.Matches(@"(?m)^selftest: (\d+) of \1 suites passed$", run.Serial);
        Assert.DoesNotContain("FAIL", run.Serial);
        // The workloads find their drivers loaded, use them and leave them so.
        var tail = run.Serial[run.Serial.IndexOf("selftest: user: ok", StringComparison.Ordinal)..];
        Assert.Contains("module chardev: refused: already loaded", tail);
        Assert.DoesNotContain("module chardev: unloaded", tail);
        Assert.Equal(["dev-rw", "blk-io"], ResultLine.ParseAll(run.Serial).Select(r => r.Workload));
    }
}
