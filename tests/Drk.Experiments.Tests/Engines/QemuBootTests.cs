using Drk.Experiments.Engines;
using Drk.Experiments.Matrix;
using Drk.Experiments.Specs;
using Drk.Experiments.Tests.Fakes;

namespace Drk.Experiments.Tests.Engines;

/// <summary>Boots the real guest in QEMU through the engine; skipped where QEMU or the guest build is absent.</summary>
public sealed class QemuBootTests
{
    private static string Build => Path.Combine(TempExperiment.RepositoryRoot, "guest", "build");

    [SkippableFact]
    public async Task The_guest_selftest_boots_in_qemu_tcg_and_reports_a_status()
    {
        var kernel = Path.Combine(Build, "kernel.elf");
        Skip.If(ExecutableSearch.Find("qemu-system-x86_64") is null, "QEMU is not installed (apt-get install qemu-system-x86)");
        Skip.IfNot(File.Exists(kernel), "the guest is not built (make -C guest)");
        var engine = new QemuEngine(EngineKind.QemuTcg);
        Assert.Null(await engine.CheckAvailabilityAsync(CancellationToken.None));
        var initrd = Path.Combine(Build, "initrd");

        var outcome = await engine.RunAsync(new RunRequest(
            new Variant("qemu-tcg", "", "", "", 1),
            new WorkloadSpec("selftest", null),
            new GuestImage(kernel, File.Exists(initrd) ? initrd : null, "", "256M"),
            "selftest",
            TimeSpan.FromMinutes(2),
            null,
            null), CancellationToken.None);

        Assert.False(outcome.TimedOut, "the guest did not power off within 2 minutes");
        Assert.Null(outcome.EngineFailure);
        Assert.True(outcome.GuestStatus == 0,
            $"guest status {outcome.GuestStatus?.ToString() ?? "none"} (exit code {outcome.ExitCode}); last output: {string.Join(" | ", outcome.Output.TakeLast(5))}");
        Assert.NotEmpty(outcome.Output);
        Assert.InRange(outcome.WallSeconds, 0.01, 120);
    }
}
