namespace Drk.Guest.Tests;

/// <summary>Fatal kernel faults: the oops report names the fault and the code, and QEMU exits non-zero.</summary>
public sealed class OopsTests
{
    /// <summary>The status the kernel writes to isa-debug-exit after an oops.</summary>
    private const int OopsStatus = 2;

    [SkippableFact]
    public async Task Null_dereference_in_a_module_prints_an_oops_with_a_symbolic_backtrace()
    {
        var build = GuestPrerequisites.RequireBoot();
        var run = await QemuRunner.RunAsync(new QemuOptions(build.KernelPath, build.InitrdPath, "modules=oops"));

        Assert.True(run.GuestStatus == OopsStatus, run.Describe());
        Assert.Contains("OOPS: page fault (vector 14) on cpu 0", run.Serial);
        Assert.Matches(@"RIP: 0008:ffffffffc[0-9a-f]{7} oops_read\+0x[0-9a-f]+ \[oops\]", run.Serial);
        Assert.Contains("CR2: 0000000000000000", run.Serial);
        Assert.Contains("error code: 0000 (read, page not present, kernel mode)", run.Serial);
        Assert.Contains("RAX: ", run.Serial);
        var trace = run.Serial[run.Serial.IndexOf("Call trace:", StringComparison.Ordinal)..];
        Assert.Contains("oops_trigger+0x", trace);
        Assert.Contains("oops_init+0x", trace);
        Assert.Contains("module_load_image+0x", trace);
        Assert.Contains("init_main+0x", trace);
        Assert.Contains("thread_start+0x", trace);
    }

    [SkippableFact]
    public async Task Kernel_stack_overflow_is_caught_by_the_guard_page_and_reported_from_the_IST_stack()
    {
        var build = GuestPrerequisites.RequireBoot();
        var run = await QemuRunner.RunAsync(new QemuOptions(build.KernelPath, build.InitrdPath, "crash=stack"));

        Assert.True(run.GuestStatus == OopsStatus, run.Describe());
        Assert.Contains("OOPS: double fault (vector 8)", run.Serial);
        Assert.Contains("kernel stack overflow: the access hit the guard page below the stack", run.Serial);
        Assert.Contains("recurse_forever", run.Serial);
    }
}
