using Drk.Experiments.Engines;
using Drk.Experiments.Matrix;
using Drk.Experiments.Specs;

namespace Drk.Experiments.Tests.Engines;

/// <summary>The Drk engine against stand-in <c>drk</c> commands (shell scripts), since <c>drk run</c> is not there yet.</summary>
public sealed class DrkEngineTests
{
    private static DrkLauncher Script(string body) => new("sh", ["-c", body, "drk"]);

    private static RunRequest Request() => new(
        new Variant("drk", "jit", "null", "kernel", 1), new WorkloadSpec("pipe", null),
        new GuestImage("/g/kernel.elf", null, "", "256M"), "run=pipe", TimeSpan.FromSeconds(20), null, null);

    [SkippableFact]
    public async Task A_build_whose_help_lacks_the_run_verb_is_unavailable()
    {
        Skip.If(ExecutableSearch.Find("sh") is null, "needs sh");
        // What System.CommandLine does for an unknown verb with --help: the root's usage, exit 0.
        var engine = new DrkEngine(Script("printf 'Usage:\\n  drk [command] [options]\\n'"));

        Assert.StartsWith("this build of drk has no `run` command yet", await engine.CheckAvailabilityAsync(CancellationToken.None));
    }

    [SkippableFact]
    public async Task A_build_with_the_run_verb_is_available()
    {
        Skip.If(ExecutableSearch.Find("sh") is null, "needs sh");
        var engine = new DrkEngine(Script("printf 'Usage:\\n  drk run <kernel> [options]\\n'"));

        Assert.Null(await engine.CheckAvailabilityAsync(CancellationToken.None));
    }

    [SkippableFact]
    public async Task Console_status_and_statistics_of_drk_run_are_read()
    {
        Skip.If(ExecutableSearch.Find("sh") is null, "needs sh");
        var engine = new DrkEngine(Script(
            "echo 'result workload=pipe checksum=0x1'; echo 'instructions: 5000' >&2; echo 'fragments: 12' >&2; exit 0"));

        var outcome = await engine.RunAsync(Request(), CancellationToken.None);

        Assert.Equal(0, outcome.GuestStatus);
        Assert.Equal(["result workload=pipe checksum=0x1"], outcome.Output);
        Assert.Equal(5000, outcome.Instructions);
        Assert.Equal(12, outcome.Stats["fragments"]);
    }

    [SkippableFact]
    public async Task A_command_line_drk_rejects_is_an_engine_failure_not_a_guest_status()
    {
        Skip.If(ExecutableSearch.Find("sh") is null, "needs sh");
        var engine = new DrkEngine(Script("echo \"Unrecognized command or argument '--stats'.\" >&2; exit 1"));

        var outcome = await engine.RunAsync(Request(), CancellationToken.None);

        Assert.Null(outcome.GuestStatus);
        Assert.Equal("drk run rejected its arguments: Unrecognized command or argument '--stats'.", outcome.EngineFailure);
    }
}
