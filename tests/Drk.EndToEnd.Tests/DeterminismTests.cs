using System.Text.RegularExpressions;
using Drk.Guest.Tests;

namespace Drk.EndToEnd.Tests;

/// <summary>Two runs of the same <c>drk run</c> command give byte-identical output and the same retired-instruction count.</summary>
public sealed partial class DeterminismTests
{
    [GeneratedRegex(@"^instructions: (\d+)$", RegexOptions.Multiline)]
    private static partial Regex InstructionsLine();

    [SkippableFact]
    public async Task Two_runs_of_selftest_on_two_cpus_are_identical()
    {
        var build = GuestPrerequisites.RequireBuild();
        string[] args = ["run", build.KernelPath, "--initrd", build.InitrdPath, "--append", "selftest", "--smp", "2", "--stats"];
        var first = await DrkCli.RunAsync(args);
        var second = await DrkCli.RunAsync(args);

        Assert.True(first.ExitCode == 0, DrkCli.Describe(first));
        Assert.True(second.ExitCode == 0, DrkCli.Describe(second));
        Assert.Equal(first.StandardOutput, second.StandardOutput);   // timing lines included: virtual time is deterministic
        var count = InstructionsLine().Match(first.StandardError);
        Assert.True(count.Success, DrkCli.Describe(first));
        Assert.Equal(count.Groups[1].Value, InstructionsLine().Match(second.StandardError).Groups[1].Value);
    }
}
