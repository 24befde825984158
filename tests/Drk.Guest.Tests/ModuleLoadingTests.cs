namespace Drk.Guest.Tests;

/// <summary>Modules named by "modules=" at boot: bad ones are refused with a reason and the kernel goes on.</summary>
public sealed class ModuleLoadingTests
{
    [SkippableFact]
    public async Task Bad_modules_are_refused_and_boot_continues()
    {
        var build = GuestPrerequisites.RequireBoot();
        var run = await QemuRunner.RunAsync(new QemuOptions(build.KernelPath, build.InitrdPath,
            "modules=bad_unresolved,bad_reloc,bad_truncated,bad_init,missing,good"));

        Assert.True(run.GuestStatus == 0, run.Describe());
        Assert.Contains("module bad_unresolved: refused: unresolved symbol 'drk_no_such_function'", run.Serial);
        Assert.Contains("module bad_reloc: refused: unsupported relocation type 24 (R_X86_64_PC64)", run.Serial);
        Assert.Contains("module bad_truncated: refused: truncated ELF", run.Serial);
        Assert.Contains("module bad_init: refused: init_module returned -5", run.Serial);
        Assert.Contains("module missing: not found (no modules/missing.o in the initrd)", run.Serial);
        Assert.Contains("module good: loaded", run.Serial);
        Assert.EndsWith("poweroff: status 0\n", run.Serial);
    }
}
